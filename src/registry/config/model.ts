import type { ConfigEntryRow, ConfigHistoryRow } from '../../db/schema/index.js';
import { apiEnvironment } from './definition.js';

/** A configuration value as the API shows it. */
export interface ConfigEntry {
  key: string;
  /** The environment whose value this is; null for the global value. */
  environment: string | null;
  value: unknown;
  version: number;
  updatedAt: Date;
  /** True when an environment was asked for and the global value answered. */
  inherited: boolean;
  /** A secret value: shown only to callers that may write the key, never put in events. */
  secret: boolean;
  /** The value was withheld from this caller (it is secret). */
  redacted: boolean;
  /** Flags kept with the value for its clients (Consul KV's `Flags`), a decimal unsigned 64-bit number. */
  flags: string;
  /** The version at which this value was created (after a deletion, the version that recreated it). */
  createdVersion: number;
  /** The id of the event that created this value (after a deletion, of the one that recreated it). */
  createdEventId: number;
  /** The id of the event of its last change: on the event log's scale, where `version` counts this key's changes. */
  modifiedEventId: number;
}

export interface ConfigVersion {
  key: string;
  environment: string | null;
  version: number;
  /** Null for a deletion. */
  value: unknown;
  deleted: boolean;
  secret: boolean;
  redacted: boolean;
  changedAt: Date;
}

/**
 * Whether the global value answers for an environment that was asked for. One rule
 * for reads (`config`) and watches (`configChanged`), so both describe the state
 * after a change the same way.
 */
export function isInherited(requestedEnvironment: string | null, answeringEnvironment: string | null): boolean {
  return requestedEnvironment !== null && answeringEnvironment === null;
}

export function toEntry(row: ConfigEntryRow, requestedEnvironment: string): ConfigEntry {
  return {
    key: row.key,
    environment: apiEnvironment(row.environment),
    value: row.value,
    version: row.version,
    updatedAt: row.updatedAt,
    inherited: isInherited(apiEnvironment(requestedEnvironment), apiEnvironment(row.environment)),
    secret: row.secret,
    redacted: false,
    flags: row.flags,
    createdVersion: row.createdVersion,
    createdEventId: row.createdEventId,
    modifiedEventId: row.modifiedEventId,
  };
}

/** Withholds secret values from a caller who may not read them (`canRead` decides per key). */
export function redact<T extends { key: string; value: unknown; secret: boolean; redacted: boolean }>(entry: T, canRead: (key: string) => boolean): T {
  return entry.secret && !canRead(entry.key) ? { ...entry, value: null, redacted: true } : entry;
}

export function toVersion(row: ConfigHistoryRow): ConfigVersion {
  return {
    key: row.key,
    environment: apiEnvironment(row.environment),
    version: row.version,
    value: row.value,
    deleted: row.deleted,
    secret: row.secret,
    redacted: false,
    changedAt: row.changedAt,
  };
}
