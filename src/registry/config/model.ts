import type { ConfigEntryRow, ConfigHistoryRow } from '../../db/schema.js';
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
}

export interface ConfigVersion {
  key: string;
  environment: string | null;
  version: number;
  /** Null for a deletion. */
  value: unknown;
  deleted: boolean;
  changedAt: Date;
}

export function toEntry(row: ConfigEntryRow, requestedEnvironment: string): ConfigEntry {
  return {
    key: row.key,
    environment: apiEnvironment(row.environment),
    value: row.value,
    version: row.version,
    updatedAt: row.updatedAt,
    inherited: requestedEnvironment !== '' && row.environment === '',
  };
}

export function toVersion(row: ConfigHistoryRow): ConfigVersion {
  return {
    key: row.key,
    environment: apiEnvironment(row.environment),
    version: row.version,
    value: row.value,
    deleted: row.deleted,
    changedAt: row.changedAt,
  };
}
