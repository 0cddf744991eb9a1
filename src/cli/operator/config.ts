import type { Command } from 'commander';
import {
  ConfigDocument,
  ConfigHistoryDocument,
  DeleteConfigDocument,
  OnConfigChangedDocument,
  OnConfigPrefixChangedDocument,
  RollbackConfigDocument,
  SetConfigDocument,
  type ConfigChangeFieldsFragment,
  type ConfigEntryFieldsFragment,
} from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { depthExceeds } from '../../build/read-json.js';
import { color, print } from '../output.js';
import { follow } from './follow.js';
import { emit, examples, inline, integer, notFound, printTable, time, withClient } from './session.js';

interface KeyOptions {
  env?: string;
  expectedVersion?: number;
}

/** switchboard config get|set|delete|history|rollback|watch. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('Configuration values: versioned JSON per key and environment, with the global value as fallback.');

  const get = keyCommand(config, 'get', "Print a key's value as the environment sees it (its own value, else the global one).").action(
    action(async (key: string, _options: unknown, command: Command) => {
      const options = optionsOf<KeyOptions>(command);
      const { config: entry } = await withClient(options, (client) => client.request(ConfigDocument, { key, environment: options.env ?? null }));
      if (!entry) throw notFound(`"${key}" has no value${options.env ? ` in ${options.env} or globally` : ''}`);
      emit(options, entry, () => print(entryLine(entry, `updated ${time(entry.updatedAt)}`)));
    }),
  );
  examples(withConnection(get), ['switchboard config get payments.timeout', 'switchboard config get payments.timeout --env prod --json']);

  const set = keyCommand(
    config,
    'set',
    'Set a value. It is read as JSON when it parses as JSON (30, true, {"a":1}, "quoted"), else as a string; one that starts like JSON ({, [, ") must be JSON.',
  )
    .argument('<value>', 'the value')
    .option('--string', 'store the value as a string even when it parses as JSON ("30" stays "30")')
    .option('--secret', 'store it as a secret: redacted for tokens without its key prefix')
    .option('--expected-version <n>', 'only if the current version is this (0: only if it does not exist yet); CONFLICT (exit 4) otherwise', integer)
    .action(
      action(async (key: string, raw: string, _options: unknown, command: Command) => {
        const options = optionsOf<KeyOptions & { string?: boolean; secret?: boolean }>(command);
        const value = options.string ? raw : parseValue(raw);
        const { setConfig: entry } = await withClient(options, (client) =>
          client.request(SetConfigDocument, {
            key,
            value,
            environment: options.env ?? null,
            expectedVersion: options.expectedVersion ?? null,
            secret: options.secret ?? null,
          }),
        );
        emit(options, entry, () => print(entryLine(entry)));
      }),
    );
  examples(withConnection(set), [
    'switchboard config set payments.timeout 30',
    'switchboard config set payments.mode fast --env prod',
    'switchboard config set payments.limits \'{"daily": 5000}\' --expected-version 3',
  ]);

  const remove = keyCommand(config, 'delete', "Delete a key's value in an environment (which then sees the global one), or the global value.")
    .option('--expected-version <n>', 'only if the current version is this; CONFLICT (exit 4) otherwise', integer)
    .action(
      action(async (key: string, _options: unknown, command: Command) => {
        const options = optionsOf<KeyOptions>(command);
        await withClient(options, (client) =>
          client.request(DeleteConfigDocument, { key, environment: options.env ?? null, expectedVersion: options.expectedVersion ?? null }),
        );
        emit(options, { key, environment: options.env ?? null, deleted: true }, () => print(`deleted ${label(key, options.env)}`));
      }),
    );
  examples(withConnection(remove), ['switchboard config delete payments.mode --env prod']);

  const history = keyCommand(config, 'history', "List a key's kept versions in one environment, newest first.")
    .option('--first <n>', 'how many versions (1 to 1000)', integer, 20)
    .action(
      action(async (key: string, _options: unknown, command: Command) => {
        const options = optionsOf<KeyOptions & { first: number }>(command);
        const { configHistory } = await withClient(options, (client) =>
          client.request(ConfigHistoryDocument, { key, environment: options.env ?? null, first: options.first }),
        );
        emit(options, configHistory, (versions) =>
          printTable(
            ['VERSION', 'CHANGED', 'VALUE'],
            versions.map((version) => [version.version, time(version.changedAt), version.deleted ? color.dim('(deleted)') : shown(version)]),
            `"${label(key, options.env)}" has no history`,
          ),
        );
      }),
    );
  examples(withConnection(history), ['switchboard config history payments.timeout']);

  const rollback = keyCommand(config, 'rollback', 'Set a key back to the value it had at an earlier version (as a new version).')
    .argument('<version>', 'the version whose value to restore', integer)
    .option('--expected-version <n>', 'only if the current version is this; CONFLICT (exit 4) otherwise', integer)
    .action(
      action(async (key: string, version: number, _options: unknown, command: Command) => {
        const options = optionsOf<KeyOptions>(command);
        const { rollbackConfig: entry } = await withClient(options, (client) =>
          client.request(RollbackConfigDocument, { key, environment: options.env ?? null, version, expectedVersion: options.expectedVersion ?? null }),
        );
        emit(options, entry, () => print(entryLine(entry, `restored from version ${version}`)));
      }),
    );
  examples(withConnection(rollback), ['switchboard config rollback payments.timeout 2']);

  const watch = keyCommand(config, 'watch', 'Print every change of a key (or, with --prefix, of every key under it) as the environment sees it, until Ctrl-C.')
    .option('--prefix', 'watch every key starting with <key> ("payments.")')
    .action(
      action(async (key: string, _options: unknown, command: Command) => {
        const options = optionsOf<KeyOptions & { prefix?: boolean }>(command);
        const environment = options.env ?? null;
        await follow(
          options,
          (client) =>
            options.prefix
              ? mapStream(client.subscribe(OnConfigPrefixChangedDocument, { prefix: key, environment }), (payload) => payload.configPrefixChanged)
              : mapStream(client.subscribe(OnConfigChangedDocument, { key, environment }), (payload) => payload.configChanged),
          (change) => print(options.json ? JSON.stringify(change) : changeLine(change)),
        );
      }),
    );
  examples(withConnection(watch), ['switchboard config watch payments.timeout --env prod', 'switchboard config watch payments. --prefix --json']);
}

/** A `config` subcommand on one key, with --env. */
function keyCommand(config: Command, name: string, description: string): Command {
  return config
    .command(name)
    .description(description)
    .argument('<key>', name === 'watch' ? 'the key (or, with --prefix, the prefix)' : 'the key ("payments.timeout")')
    .option('--env <environment>', 'the environment ("prod"); default: the global value');
}

const MAX_VALUE_DEPTH = 64;

/**
 * What the operator typed, as JSON when it is JSON: `30` is a number, `fast` a string. A value that starts as
 * JSON does (`{`, `[`, `"`) but does not parse is a typo (a lost brace, shell quoting), not a string to
 * store: refused, and `--string` stores it as text when that is what was meant.
 */
function parseValue(raw: string): unknown {
  // JSON.parse copes with any depth; sending it (JSON.stringify) overflows the stack.
  if (depthExceeds(raw, MAX_VALUE_DEPTH)) throw new UsageError(`the value nests deeper than ${MAX_VALUE_DEPTH} levels`);
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    if (/^\s*[[{"]/.test(raw)) {
      throw new UsageError(`the value ${JSON.stringify(raw)} is not valid JSON (${(error as Error).message}); fix it, or pass --string to store it as text`);
    }
    return raw;
  }
}

function label(key: string, environment: string | null | undefined): string {
  return environment ? `${key} [${environment}]` : key;
}

function shown(entry: { value?: unknown; redacted: boolean }): string {
  return entry.redacted ? color.dim('<redacted>') : inline(entry.value);
}

function entryLine(entry: ConfigEntryFieldsFragment, extra?: string): string {
  const notes = [`version ${entry.version}`, entry.inherited ? 'inherited from the global value' : undefined, entry.secret ? 'secret' : undefined, extra];
  return `${label(entry.key, entry.environment)} = ${shown(entry)}  ${color.dim(`(${notes.filter(Boolean).join(', ')})`)}`;
}

function changeLine(change: ConfigChangeFieldsFragment): string {
  const where = label(change.key, change.watchedEnvironment ?? change.environment);
  const at = color.dim(time(change.timestamp));
  const gone = change.newValue === null || change.newValue === undefined;
  if (change.deleted && gone && !change.redacted) return `${at} ${where} deleted  ${color.dim(`(was ${inline(change.oldValue)})`)}`;
  const value = change.redacted ? '<redacted>' : inline(change.newValue);
  const was = change.oldValue === null || change.oldValue === undefined ? 'new' : `was ${change.redacted ? '<redacted>' : inline(change.oldValue)}`;
  const notes = [`version ${change.version}`, was, change.inherited ? 'inherited from the global value' : undefined].filter(Boolean).join(', ');
  return `${at} ${where} = ${value}  ${color.dim(`(${notes})`)}`;
}

/** One subscription's payloads as another iterator, so `follow` can end it. */
function mapStream<A, B>(stream: AsyncIterableIterator<A>, map: (item: A) => B): AsyncIterableIterator<B> {
  return {
    async next() {
      const step = await stream.next();
      return step.done ? step : { done: false, value: map(step.value) };
    },
    async return() {
      await stream.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
