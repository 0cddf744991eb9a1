import { badInput } from '../errors.js';
import { jsonProblem } from '../json.js';
import { quoteInput } from '../text.js';

/**
 * Configuration inputs arrive one argument at a time (a key, an environment, a value), so each
 * has a function that returns it checked or throws BAD_USER_INPUT naming the field.
 */
export const ConfigLimits = {
  keyLength: 256,
  environmentLength: 63,
  valueBytes: 128 * 1024,
  valueDepth: 32,
} as const;

/** Dotted names: "api.timeout", "database.pool.max_size". */
const KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const PREFIX = /^[A-Za-z0-9_.-]*$/;
const ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function validateKey(key: string): string {
  if (key.length > ConfigLimits.keyLength || !KEY.test(key)) {
    throw badInput(
      `${quoteInput(key)} is not a configuration key: use dotted names like "api.timeout" (letters, digits, "_" and "-" between dots, at most ${ConfigLimits.keyLength} characters).`,
      { field: 'key' },
    );
  }
  return key;
}

export function validatePrefix(prefix: string): string {
  if (prefix.length > ConfigLimits.keyLength || !PREFIX.test(prefix)) {
    throw badInput(`${quoteInput(prefix)} is not a key prefix (letters, digits, ".", "_" and "-").`, { field: 'prefix' });
  }
  return prefix;
}

/** An environment name ("production", "eu-1.staging"); the global value has none. */
export function validateEnvironment(environment: string): string {
  if (environment.length > ConfigLimits.environmentLength || !ENVIRONMENT.test(environment)) {
    throw badInput(`${quoteInput(environment)} is not an environment name (letters, digits, ".", "_" and "-"; omit it for the global value).`, {
      field: 'environment',
    });
  }
  return environment;
}

/**
 * Any JSON value except null: absence is what deleteConfig is for, and keeping
 * null out lets "no value" and "a null value" never be confused.
 */
export function validateValue(value: unknown): unknown {
  if (value === null || value === undefined) {
    throw badInput('A configuration value cannot be null; use deleteConfig to remove a key.', { field: 'value' });
  }
  const problem = jsonProblem(value, { maxBytes: ConfigLimits.valueBytes, maxDepth: ConfigLimits.valueDepth });
  if (problem) throw badInput(`The value ${problem}.`, { field: 'value' });
  // A plain copy: GraphQL hands object literals over with a null prototype.
  return JSON.parse(JSON.stringify(value)) as unknown;
}

const UINT64_MAX = 18446744073709551615n;

/**
 * Flags kept with a value for its clients (Consul KV's `Flags`): an unsigned 64-bit
 * number, as decimal text so no digit is lost in a JavaScript number. Returns it without
 * leading zeros.
 */
export function validateFlags(flags: string): string {
  if (!/^[0-9]{1,20}$/.test(flags) || BigInt(flags) > UINT64_MAX) {
    throw badInput(`${quoteInput(flags, 40)} is not valid flags: an unsigned 64-bit number in decimal (0 to ${UINT64_MAX}).`, { field: 'flags' });
  }
  return BigInt(flags).toString();
}

export function validateExpectedVersion(expectedVersion: number | null | undefined): number | undefined {
  if (expectedVersion == null) return undefined;
  if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
    throw badInput('expectedVersion must be 0 (the key must not exist yet) or the current version.', { field: 'expectedVersion' });
  }
  return expectedVersion;
}
