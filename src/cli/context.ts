import { Option, type Command } from 'commander';
import WebSocket from 'ws';
import { SwitchboardClient, type SwitchboardClientOptions } from '@switchboard/client';
import { CommandFailure, ExitCode, UsageError, errorCodeOf, exitCodeFor } from './exit-codes.js';
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
  return new SwitchboardClient({ url: graphqlUrl(options.server), token: options.token, webSocketImpl: WebSocket, ...overrides });
}

/**
 * Runs a command's action and turns its failure into a message on stderr and an exit code (exit-codes.ts).
 * With --json the error is also printed as JSON on stdout, `{ "error": { code, message } }`, so a script that
 * parses stdout always gets a document.
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
      if (json)
        process.stdout.write(
          `${JSON.stringify({ error: { code: errorCodeOf(error) ?? (code === ExitCode.USAGE ? 'USAGE' : 'FAILED'), message } }, null, 2)}\n`,
        );
      process.stderr.write(`${color.red('error')}: ${message}\n`);
      if (code === ExitCode.FAILED && !(error instanceof CommandFailure) && !errorCodeOf(error) && process.env['SWITCHBOARD_DEBUG'] && error instanceof Error) {
        process.stderr.write(`${error.stack}\n`);
      }
      process.exitCode = code;
    }
  };
}

/** The options of the command an action runs for, merged with the program's. */
export function optionsOf<T>(command: Command): T & GlobalOptions {
  return command.optsWithGlobals() as T & GlobalOptions;
}
