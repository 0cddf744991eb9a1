import { InvalidArgumentError, type Command } from 'commander';
import { SwitchboardError, type SwitchboardClient, type SwitchboardClientOptions } from '@switchboard/client';
import { clientFor, type GlobalOptions } from '../context.js';
import { print, printJson, table } from '../output.js';

/**
 * What every operator command shares: a client that is closed when the command ends, one place that chooses
 * between human output and `--json`, and the small parsers its options use.
 */

/** Runs `work` with a client of the registry the options name, and closes its socket afterwards. */
export async function withClient<T>(
  options: GlobalOptions,
  work: (client: SwitchboardClient) => Promise<T>,
  overrides: Partial<SwitchboardClientOptions> = {},
): Promise<T> {
  const client = clientFor(options, overrides);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Prints `value` as one JSON document with --json, else hands it to `human`. */
export function emit<T>(options: GlobalOptions, value: T, human: (value: T) => void): void {
  if (options.json) printJson(value);
  else human(value);
}

/** A NOT_FOUND the command found itself (a query answered null): exit 3, and `{"error":{"code":"NOT_FOUND"}}` with --json. */
export function notFound(message: string): SwitchboardError {
  return new SwitchboardError('NOT_FOUND', message);
}

/** Examples shown after a command's help. */
export function examples(command: Command, lines: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
}

/** For a repeatable option: `--tag a --tag b` -> ['a', 'b']. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** For `--meta k=v` (repeatable): a string map. */
export function keyValue(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected key=value, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** A whole number option or argument (a port, a version, a count). */
export function integer(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** An event id (`--after`): the log's ids are whole numbers from 1, and 0 is "from the beginning". */
export function eventId(value: string): string {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected an event id (a whole number, 0 or more)');
  return value;
}

/** A JSON value as one line, for a table cell or a change line. */
export function inline(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

/** An ISO time to the second, for tables ("2026-12-07 18:20:31"). */
export function time(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '';
}

/** Prints a table, or `empty` when it has no rows (a header alone reads like a fault). */
export function printTable(head: readonly string[], rows: readonly (readonly unknown[])[], empty: string): void {
  print(rows.length === 0 ? empty : table(head, rows));
}
