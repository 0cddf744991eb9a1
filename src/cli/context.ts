import { Option, type Command } from 'commander';
import WebSocket from 'ws';
import { SwitchboardClient, type SwitchboardClientOptions } from '@switchboard/client';
import { CommandFailure, ExitCode, UsageError, errorCodeOf, exitCodeFor, outcomeOf } from './exit-codes.js';
import { color } from './output.js';

/** The options every operator command takes (program-wide, before or after the command name). */
export interface GlobalOptions {
  server: string;
  token?: string;
  json?: boolean;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:4000';

/** Adds --server, --token and --json to a command (operator commands call this on themselves). */
export function withConnection(command: Command): Command {
  return command
    .addOption(new Option('-s, --server <url>', 'the registry (its base URL or its /graphql endpoint)').env('SWITCHBOARD_URL').default(DEFAULT_SERVER))
    .addOption(new Option('-t, --token <token>', 'an API token (sent as a bearer token)').env('SWITCHBOARD_TOKEN'))
    .option('--json', 'print JSON for scripts instead of text');
}

/** The GraphQL endpoint for what the operator typed: `http://host:4000` and `http://host:4000/graphql` both work. */
export function graphqlUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(server)} is not a URL; try http://127.0.0.1:4000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server must be an http:// or https:// URL, not ${url.protocol}`);
  if (!url.pathname.endsWith('/graphql')) url.pathname = `${url.pathname.replace(/\/$/, '')}/graphql`;
  return url.toString();
}

/**
 * A client for the registry the options name. WebSocket comes from `ws`: Node 20 has no global one. `overrides`
 * tune the rest (a follower's reconnect policy).
 */
export function clientFor(options: GlobalOptions, overrides: Partial<SwitchboardClientOptions> = {}): SwitchboardClient {
  return new SwitchboardClient({ url: graphqlUrl(options.server), token: checkedToken(options.token), webSocketImpl: WebSocket, ...overrides });
}

/**
 * The token as it can go in `Authorization: Bearer …`. A control character (a newline pasted with it, a CR
 * from a Windows file) would split or corrupt the header; fetch refuses it with a TypeError that would read
 * as "could not be reached". Refused here, before anything is sent, so it is never sent anywhere.
 */
function checkedToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const bad = /[^\x20-\x7e]/.exec(token);
  if (bad) {
    const code = bad[0].codePointAt(0)!;
    const what = code < 0x20 || code === 0x7f ? 'a control character' : 'a character outside printable ASCII';
    throw new UsageError(
      `the token has ${what} (U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${bad.index + 1}); nothing was sent. Check --token or SWITCHBOARD_TOKEN (a trailing newline from a file?).`,
    );
  }
  return token;
}

/**
 * Runs a command's action and turns its failure into a message on stderr and an exit code (exit-codes.ts).
 * With --json the error is also printed as JSON on stdout, `{ "error": { code, message } }`, so a script that
 * parses stdout always gets a document; an UNAVAILABLE write adds the server's `outcome` ("not_applied" or
 * "unknown"), which says whether retrying is safe.
 */
export function action<Args extends unknown[]>(run: (...args: Args) => Promise<void> | void): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await run(...args);
    } catch (error) {
      const command = args.at(-1) as Command | undefined;
      const json = Boolean(command?.optsWithGlobals?.()?.['json']);
      const code = error instanceof CommandFailure ? error.code : error instanceof UsageError ? ExitCode.USAGE : exitCodeFor(error);
      const message = error instanceof Error ? error.message : String(error);
      const outcome = outcomeOf(error);
      if (json) {
        const body = { code: errorCodeOf(error) ?? (code === ExitCode.USAGE ? 'USAGE' : 'FAILED'), message, ...(outcome ? { outcome } : {}) };
        process.stdout.write(`${JSON.stringify({ error: body }, null, 2)}\n`);
      }
      process.stderr.write(`${color.red('error')}: ${message}${outcome ? ` ${OUTCOMES[outcome] ?? `(outcome: ${outcome})`}` : ''}\n`);
      if (code === ExitCode.FAILED && !(error instanceof CommandFailure) && !errorCodeOf(error) && process.env['SWITCHBOARD_DEBUG'] && error instanceof Error) {
        process.stderr.write(`${error.stack}\n`);
      }
      process.exitCode = code;
    }
  };
}

/** What an UNAVAILABLE write's `outcome` means for the operator deciding whether to run the command again. */
const OUTCOMES: Record<string, string> = {
  not_applied: '(nothing was written: running the command again is safe)',
  unknown: '(the write may have been applied: read it back before running the command again)',
};

/** The options of the command an action runs for, merged with the program's. */
export function optionsOf<T>(command: Command): T & GlobalOptions {
  return command.optsWithGlobals() as T & GlobalOptions;
}
