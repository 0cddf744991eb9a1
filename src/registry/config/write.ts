import { sql } from 'drizzle-orm';
import { SwitchboardError, validateExpectedVersion, validateFlags, validateKey, validatePrefix, validateValue } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { assertCanWriteKey, assertCanWriteKeyTree, type Principal } from '../access/index.js';
import { runTransaction } from '../../db/transaction.js';
import { currentActor } from '../../events/actor.js';
import { storedEnvironment } from './definition.js';
import type { ConfigEntry } from './model.js';
import { writeKey, type ConfigWriteOptions, type KeyWrite, type KeyWriteAnswer, type Target } from './write-key.js';

export type { ConfigWriteOptions };

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

export interface DeleteConfigInput {
  key: string;
  environment?: string | null | undefined;
  expectedVersion?: number | null | undefined;
}

export interface RollbackConfigInput {
  key: string;
  environment?: string | null | undefined;
  /** The version whose value becomes current again, as a new version. */
  version: number;
  expectedVersion?: number | null | undefined;
}

/*
 * Each write in a transaction of its own. The server's adapters write through a ConfigWriter
 * (writer.ts) instead, which commits concurrent writes to one key together; both apply them
 * with writeKey, so a write means the same either way.
 */

/**
 * Sets a value. Versions start at 1 and grow by one per change, through deletions
 * too. Setting the value a key already has changes nothing and returns the entry
 * as it is (watchers are not woken for nothing).
 */
export async function setConfig(db: Db, input: SetConfigInput, options: ConfigWriteOptions, principal: Principal): Promise<ConfigEntry> {
  return writeAlone(db, parseSet(input, principal), options);
}

/** Deletes a value; NOT_FOUND when it does not exist. An environment then falls back to the global value. */
export async function deleteConfig(db: Db, input: DeleteConfigInput, options: ConfigWriteOptions, principal: Principal): Promise<ConfigEntry> {
  return writeAlone(db, parseDelete(input, principal), options);
}

/** Sets the value an earlier version had, as a new version; NOT_FOUND when the history has no such version. */
export async function rollbackConfig(db: Db, input: RollbackConfigInput, options: ConfigWriteOptions, principal: Principal): Promise<ConfigEntry> {
  return writeAlone(db, parseRollback(input, principal), options);
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
  const actor = currentActor() ?? null;
  return runTransaction(db, async (tx) => {
    const keys = await tx.execute<{ key: string }>(sql`
      select key from config_entries
      where environment = ${environment} and not deleted and starts_with(key, ${prefix})
      order by key collate "C"`);
    const deleted: ConfigEntry[] = [];
    for (const { key } of keys) {
      const [answer] = await writeKey(tx, key, [{ target: { key, environment, expectedVersion: undefined }, change: { kind: 'delete' }, actor }], options);
      // NOT_FOUND: deleted by another writer between the listing and this key's lock: already gone.
      if (answer instanceof SwitchboardError && answer.code === 'NOT_FOUND') continue;
      deleted.push(entryOf(answer!));
    }
    return deleted;
  });
}

export function parseSet(input: SetConfigInput, principal: Principal): KeyWrite {
  const target = parseTarget(input, principal);
  const value = validateValue(input.value);
  const flags = input.flags == null ? undefined : validateFlags(input.flags);
  return { target, change: { kind: 'set', value, secret: input.secret ?? undefined, flags }, actor: currentActor() ?? null };
}

export function parseDelete(input: DeleteConfigInput, principal: Principal): KeyWrite {
  return { target: parseTarget(input, principal), change: { kind: 'delete' }, actor: currentActor() ?? null };
}

export function parseRollback(input: RollbackConfigInput, principal: Principal): KeyWrite {
  return { target: parseTarget(input, principal), change: { kind: 'rollback', version: input.version }, actor: currentActor() ?? null };
}

/** The entry a write left, or its refusal thrown. */
export function entryOf(answer: KeyWriteAnswer): ConfigEntry {
  if (answer instanceof SwitchboardError) throw answer;
  return answer.entry;
}

async function writeAlone(db: Db, write: KeyWrite, options: ConfigWriteOptions): Promise<ConfigEntry> {
  const [answer] = await runTransaction(db, (tx) => writeKey(tx, write.target.key, [write], options));
  return entryOf(answer!);
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
