import { and, eq, sql } from 'drizzle-orm';
import { isDeepStrictEqual } from 'node:util';
import {
  badInput,
  conflict,
  SwitchboardError,
  validateExpectedVersion,
  validateFlags,
  validateKey,
  validatePrefix,
  validateValue,
} from '@switchboard/contracts';
import type { Db, Tx } from '../../db/client.js';
import { assertCanWriteKey, assertCanWriteKeyTree, type Principal } from '../access/index.js';
import { AdvisoryLock } from '../../db/locks.js';
import { runTransaction } from '../../db/transaction.js';
import { configHistory, type ConfigEntryRow } from '../../db/schema/index.js';
import { appendEvents, type Alongside } from '../../events/append.js';
import { apiEnvironment, storedEnvironment } from './definition.js';
import { configChangedEvent } from './events.js';
import { toEntry, type ConfigEntry } from './model.js';

export interface ConfigWriteOptions {
  /** Versions kept per key and environment (older ones are pruned as new ones land). */
  historyLimit: number;
}

export interface SetConfigInput {
  key: string;
  /** Any JSON value but null. */
  value?: unknown;
  environment?: string | null | undefined;
  /** Compare-and-set: 0 = the key must not exist yet; n = the current version must be n. */
  expectedVersion?: number | null | undefined;
  /** Mark the value secret (or not); absent: as it was (new values: not secret). */
  secret?: boolean | null | undefined;
  /** Flags kept with the value for its clients (Consul KV's), decimal uint64; absent: as they were (new values: 0). */
  flags?: string | null | undefined;
}

type Change = { kind: 'set'; value: unknown; secret?: boolean | undefined; flags?: string | undefined } | { kind: 'delete' };

interface Target {
  key: string;
  environment: string;
  expectedVersion: number | undefined;
}

/**
 * Sets a value. Versions start at 1 and grow by one per change, through deletions
 * too. Setting the value a key already has changes nothing and returns the entry
 * as it is (watchers are not woken for nothing).
 */
export async function setConfig(db: Db, input: SetConfigInput, options: ConfigWriteOptions, principal: Principal): Promise<ConfigEntry> {
  const target = parseTarget(input, principal);
  const value = validateValue(input.value);
  const flags = input.flags == null ? undefined : validateFlags(input.flags);
  return runTransaction(db, (tx) => writeConfig(tx, target, { kind: 'set', value, secret: input.secret ?? undefined, flags }, options));
}

export interface DeleteConfigInput {
  key: string;
  environment?: string | null | undefined;
  expectedVersion?: number | null | undefined;
}

/** Deletes a value; NOT_FOUND when it does not exist. An environment then falls back to the global value. */
export async function deleteConfig(db: Db, input: DeleteConfigInput, options: ConfigWriteOptions, principal: Principal): Promise<ConfigEntry> {
  const target = parseTarget(input, principal);
  return runTransaction(db, (tx) => writeConfig(tx, target, { kind: 'delete' }, options));
}

export interface DeleteConfigTreeInput {
  /** Every key starting with this ('' for all of them). */
  prefix: string;
  environment?: string | null | undefined;
}

/**
 * Deletes every value under a prefix in one environment, in one transaction: each key is a
 * deletion of its own (a version, an event), taken in key order so two such deletions over
 * the same keys lock them in the same order. Returns the deleted entries (none: nothing there).
 */
export async function deleteConfigTree(db: Db, input: DeleteConfigTreeInput, options: ConfigWriteOptions, principal: Principal): Promise<ConfigEntry[]> {
  const prefix = validatePrefix(input.prefix);
  assertCanWriteKeyTree(principal, prefix);
  const environment = storedEnvironment(input.environment);
  return runTransaction(db, async (tx) => {
    const keys = await tx.execute<{ key: string }>(sql`
      select key from config_entries
      where environment = ${environment} and not deleted and starts_with(key, ${prefix})
      order by key collate "C"`);
    const deleted: ConfigEntry[] = [];
    for (const { key } of keys) {
      try {
        deleted.push(await writeConfig(tx, { key, environment, expectedVersion: undefined }, { kind: 'delete' }, options));
      } catch (error) {
        // Deleted by another writer between the listing and this key's lock: already gone.
        if (!(error instanceof SwitchboardError && error.code === 'NOT_FOUND')) throw error;
      }
    }
    return deleted;
  });
}

export interface RollbackConfigInput {
  key: string;
  environment?: string | null | undefined;
  /** The version whose value becomes current again, as a new version. */
  version: number;
  expectedVersion?: number | null | undefined;
}

export async function rollbackConfig(db: Db, input: RollbackConfigInput, options: ConfigWriteOptions, principal: Principal): Promise<ConfigEntry> {
  const target = parseTarget(input, principal);
  return runTransaction(db, async (tx) => {
    const [old] = await tx
      .select()
      .from(configHistory)
      .where(and(eq(configHistory.key, target.key), eq(configHistory.environment, target.environment), eq(configHistory.version, input.version)));
    if (!old) {
      throw new SwitchboardError('NOT_FOUND', `Configuration key ${describe(target)} has no version ${input.version}.`, {
        key: target.key,
        environment: apiEnvironment(target.environment),
        version: input.version,
      });
    }
    if (old.deleted) {
      throw badInput(`Version ${input.version} of ${describe(target)} is a deletion; use deleteConfig to delete the key.`, { field: 'version' });
    }
    return writeConfig(tx, target, { kind: 'set', value: old.value }, options);
  });
}

/**
 * The key, checked, and the caller's right to write it: a key belongs to the tokens whose key
 * prefix it starts with. The rule depends on the key alone, so it needs no lock.
 */
function parseTarget(
  input: { key: string; environment?: string | null | undefined; expectedVersion?: number | null | undefined },
  principal: Principal,
): Target {
  const key = validateKey(input.key);
  assertCanWriteKey(principal, key);
  return {
    key,
    environment: storedEnvironment(input.environment),
    expectedVersion: validateExpectedVersion(input.expectedVersion),
  };
}

/**
 * The one write path: check, write the entry and its history, record the event.
 * Five statements in all (lock; read; write entry and history; append; commit),
 * since every round trip inside the transaction adds to what watchers wait for.
 */
async function writeConfig(tx: Tx, target: Target, change: Change, options: ConfigWriteOptions): Promise<ConfigEntry> {
  const entries = await lockAndReadKey(tx, target.key);
  const current = entries.find((entry) => entry.environment === target.environment);
  const exists = current !== undefined && !current.deleted;
  checkExpectedVersion(target, current, exists);
  if (change.kind === 'delete' && !exists) {
    throw new SwitchboardError('NOT_FOUND', `Configuration key ${describe(target)} does not exist.`, {
      key: target.key,
      environment: apiEnvironment(target.environment),
    });
  }
  const secret = (change.kind === 'set' ? change.secret : undefined) ?? current?.secret ?? false;
  // Flags belong to the value: a value written anew (created, or after a deletion) starts at 0.
  const flags = (change.kind === 'set' ? change.flags : undefined) ?? (exists ? current.flags : '0');
  if (change.kind === 'set' && exists && isDeepStrictEqual(current.value, change.value) && current.secret === secret && current.flags === flags) {
    return toEntry(current, target.environment);
  }

  const version = (current?.version ?? 0) + 1;
  const createdVersion = exists ? current.createdVersion : version;
  const newValue = change.kind === 'set' ? change.value : null;
  const deleted = change.kind === 'delete';
  const value = newValue === null ? null : JSON.stringify(newValue);
  const [written] = await tx.execute<RawEntryRow>(sql`
    with entry as (
      insert into config_entries (key, environment, value, version, deleted, secret, flags, created_version)
      values (${target.key}, ${target.environment}, ${value}::jsonb, ${version}, ${deleted}, ${secret}, ${flags}::numeric, ${createdVersion})
      on conflict (key, environment) do update
        set value = excluded.value, version = excluded.version, deleted = excluded.deleted, secret = excluded.secret,
          flags = excluded.flags, created_version = excluded.created_version, updated_at = now()
      returning ${ENTRY_COLUMNS}
    ), history as (
      insert into config_history (key, environment, version, value, deleted, secret)
      values (${target.key}, ${target.environment}, ${version}, ${value}::jsonb, ${deleted}, ${secret})
    ), pruned as (
      delete from config_history
      where key = ${target.key} and environment = ${target.environment} and version <= ${version - options.historyLimit}
    )
    select * from entry`);

  // Secret values never enter the event log: watchers learn that it changed, and read it if they may.
  const hidden = secret || Boolean(current?.secret);
  const created = change.kind === 'set' && !exists;
  const [event] = await appendEvents(
    tx,
    [
      configChangedEvent({
        key: target.key,
        environment: apiEnvironment(target.environment),
        version,
        deleted,
        oldValue: exists && !hidden ? current.value : null,
        newValue: hidden ? null : newValue,
        ...(hidden ? { secret: true as const } : {}),
        ...effectiveContext(entries, target),
      }),
    ],
    stampEventId(target, created),
  );
  const row = fromRawEntry(written!);
  return toEntry({ ...row, modifiedEventId: event!.id, createdEventId: created ? event!.id : row.createdEventId }, target.environment);
}

/**
 * Keeps the id of the change's event on the entry (and, for a value created anew, as its creation),
 * written in the append's own statement: the id is drawn there, under the append lock.
 */
function stampEventId(target: Target, created: boolean): Alongside {
  return (eventId) => sql`
    update config_entries set modified_event_id = ${eventId}${created ? sql`, created_event_id = ${eventId}` : sql``}
    where key = ${target.key} and environment = ${target.environment}`;
}

/** A config_entries row from hand-written SQL (timestamps selected as ISO-8601 text). */
type RawEntryRow = Omit<ConfigEntryRow, 'updatedAt' | 'createdVersion' | 'createdEventId' | 'modifiedEventId'> & {
  updated_at: string;
  created_version: number;
  // int8: text from postgres.js.
  created_event_id: string | number;
  modified_event_id: string | number;
} & Record<string, unknown>;

const ENTRY_COLUMNS = sql.raw(
  `key, environment, value, version, deleted, secret, flags::text as flags, created_version, created_event_id, modified_event_id, to_json(updated_at) #>> '{}' as updated_at`,
);

const fromRawEntry = ({ updated_at, created_version, created_event_id, modified_event_id, ...row }: RawEntryRow): ConfigEntryRow => ({
  key: row.key,
  environment: row.environment,
  value: row.value,
  version: row.version,
  deleted: row.deleted,
  secret: row.secret,
  flags: row.flags,
  createdVersion: created_version,
  createdEventId: Number(created_event_id),
  modifiedEventId: Number(modified_event_id),
  updatedAt: new Date(updated_at),
});

/**
 * Takes the key's lock, then reads its entries in every environment. Every write to a
 * key, whatever the environment, takes this lock: a global write records which
 * environments override it (and an environment write the global value it falls
 * back to), and that must not change before the commit.
 *
 * Two statements, on purpose. Under READ COMMITTED a statement's snapshot is taken
 * when it starts, before any lock function inside it runs: a writer that waited for
 * the lock inside the reading statement would still read the entries as they were
 * before the holder committed, and compute the same next version (a duplicate key
 * on config_history). The read that follows the lock gets a fresh snapshot.
 */
async function lockAndReadKey(tx: Tx, key: string): Promise<ConfigEntryRow[]> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AdvisoryLock.CONFIG_KEY}::int4, hashtext(${key}))`);
  const rows = await tx.execute<RawEntryRow>(sql`select ${ENTRY_COLUMNS} from config_entries where key = ${key}`);
  return rows.map(fromRawEntry);
}

function checkExpectedVersion(target: Target, current: ConfigEntryRow | undefined, exists: boolean): void {
  const expected = target.expectedVersion;
  if (expected === undefined) return;
  if (expected === 0 && exists) {
    throw conflict(`${describe(target)} already exists (version ${current!.version}); expectedVersion 0 requires that it does not.`, {
      currentVersion: current!.version,
    });
  }
  if (expected > 0 && (!exists || current!.version !== expected)) {
    throw conflict(
      exists
        ? `${describe(target)} is at version ${current!.version}, not ${expected}; nothing was written.`
        : `${describe(target)} does not exist, so it is not at version ${expected}; nothing was written.`,
      { currentVersion: exists ? current!.version : null },
    );
  }
}

/** What watchers of other environments need to know about this change (see ConfigEventData). */
function effectiveContext(
  entries: readonly ConfigEntryRow[],
  target: Target,
): { globalValue: unknown; globalVersion: number | null; globalSecret?: true } | { overriddenIn: string[] } {
  if (target.environment !== '') {
    const global = entries.find((entry) => entry.environment === '' && !entry.deleted);
    const globalVersion = global?.version ?? null;
    if (global?.secret) return { globalValue: null, globalVersion, globalSecret: true };
    return { globalValue: global?.value ?? null, globalVersion };
  }
  return { overriddenIn: entries.filter((entry) => entry.environment !== '' && !entry.deleted).map((entry) => entry.environment) };
}

function describe(target: { key: string; environment: string }): string {
  return target.environment === '' ? `"${target.key}" (global)` : `"${target.key}" in ${target.environment}`;
}
