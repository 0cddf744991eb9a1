import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { badInput, validateKey, validatePrefix } from '@switchboard/contracts';
import type { Executor } from '../../db/client.js';
import { configEntries, configHistory } from '../../db/schema/index.js';
import { storedEnvironment } from './definition.js';
import { toEntry, toVersion, type ConfigEntry, type ConfigVersion } from './model.js';

/**
 * The value of a key for an environment: the environment's own value, else the
 * global one (the entry says which answered). Without an environment: the global value.
 */
export async function getConfig(db: Executor, key: string, environment?: string | null): Promise<ConfigEntry | null> {
  const stored = storedEnvironment(environment);
  const rows = await db
    .select()
    .from(configEntries)
    .where(and(eq(configEntries.key, validateKey(key)), inArray(configEntries.environment, [...new Set([stored, ''])]), eq(configEntries.deleted, false)))
    // The environment's own value sorts first ('' is global).
    .orderBy(desc(configEntries.environment))
    .limit(1);
  return rows[0] ? toEntry(rows[0], stored) : null;
}

/** Effective values of every key under a prefix, for an environment (with global fallback), by key. */
export async function listConfigs(db: Executor, prefix?: string | null, environment?: string | null): Promise<ConfigEntry[]> {
  const stored = storedEnvironment(environment);
  const conditions: SQL[] = [inArray(configEntries.environment, [...new Set([stored, ''])]), eq(configEntries.deleted, false)];
  if (prefix) conditions.push(sql`starts_with(${configEntries.key}, ${validatePrefix(prefix)})`);
  const rows = await db
    .selectDistinctOn([configEntries.key])
    .from(configEntries)
    .where(and(...conditions))
    .orderBy(asc(configEntries.key), desc(configEntries.environment));
  return rows.map((row) => toEntry(row, stored));
}

export const HISTORY_PAGE_DEFAULT = 100;
export const HISTORY_PAGE_MAX = 1000;

/** Past versions of one key in one environment (not the fallback), newest first. */
export async function getConfigHistory(db: Executor, key: string, environment?: string | null, first = HISTORY_PAGE_DEFAULT): Promise<ConfigVersion[]> {
  if (!Number.isInteger(first) || first < 1 || first > HISTORY_PAGE_MAX) {
    throw badInput(`first must be from 1 to ${HISTORY_PAGE_MAX}.`, { field: 'first' });
  }
  const rows = await db
    .select()
    .from(configHistory)
    .where(and(eq(configHistory.key, validateKey(key)), eq(configHistory.environment, storedEnvironment(environment))))
    .orderBy(desc(configHistory.version))
    .limit(first);
  return rows.map(toVersion);
}

/** Configuration entries stored, a key counting once per environment it is set in (metrics read this at each scrape). */
export function countConfigEntries(db: Executor): Promise<number> {
  return db.$count(configEntries);
}
