import { badInput, ConfigLimits, findInJson, validateKey } from '@switchboard/contracts';

/**
 * How Consul KV maps onto the configuration store, both ways and exactly:
 *
 * Keys. A KV key is a configuration key with "/" for ".": `payments/db/pool` is
 * `payments.db.pool`. Configuration keys are dotted names whose parts are letters,
 * digits, "_" and "-", so a KV key is parts of those separated by single slashes; a
 * KV key with a ".", an empty part (`a//b`, a leading or trailing "/") or another
 * character is refused with 400 rather than mapped to a key that would read back
 * differently. Prefixes (`?recurse`, `?keys`, a recursive DELETE) map the same way and
 * may end in "/" or mid-part (`payments/d`).
 *
 * Values. Configuration values are JSON; KV values are bytes. A body is kept as the
 * JSON value it spells when it is a number, boolean, object or array written exactly
 * as Switchboard writes that value back (`30`, `true`, `{"a":1}`); any other body is
 * kept as text, a JSON string (`30s`, `"quoted"`, `{ "a": 1 }` with spaces). A GET
 * answers a string's text and any other value's JSON, so every body that is accepted
 * reads back byte for byte. Bodies that are not UTF-8, or hold a NUL, are refused
 * (400): a JSON string cannot hold them. A value set through GraphQL reads back
 * through KV by the same rule (the string "30s" as `30s`, the number 30 as `30`).
 */

const KV_KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
const KV_PREFIX = /^[A-Za-z0-9_/-]*$/;

export function configKeyOf(kvKey: string): string {
  if (!KV_KEY.test(kvKey)) {
    throw badInput(
      `"${kvKey.slice(0, 80)}" is not a key here: KV keys are configuration keys written with "/", parts of letters, digits, "_" and "-" (like "payments/db/timeout").`,
      { field: 'key' },
    );
  }
  return validateKey(kvKey.replaceAll('/', '.'));
}

export function configPrefixOf(kvPrefix: string): string {
  if (!KV_PREFIX.test(kvPrefix) || kvPrefix.startsWith('/') || kvPrefix.includes('//')) {
    throw badInput(`"${kvPrefix.slice(0, 80)}" is not a key prefix here: parts of letters, digits, "_" and "-" separated by single "/".`, { field: 'key' });
  }
  return kvPrefix.replaceAll('/', '.');
}

export function kvKeyOf(configKey: string): string {
  return configKey.replaceAll('.', '/');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The configuration value a KV body stands for (see above); BAD_USER_INPUT for bytes that are not text. */
export function valueOfBody(body: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw badInput('The value is not UTF-8 text; values here are configuration values, which hold text or JSON.', { field: 'value' });
  }
  const json = parseJson(text);
  if (json === undefined || json === null || typeof json === 'string' || !withinDepth(json, ConfigLimits.valueDepth)) return text;
  return serialize(json) === text ? json : text;
}

/** The bytes a KV GET answers for a configuration value. */
export function bodyOfValue(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : serialize(value), 'utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // not JSON (or nested past what the parser takes): text
  }
}

/** Too deep to be a configuration value: kept as text (and serialize never recurses past it). */
function withinDepth(value: unknown, maxDepth: number): boolean {
  return findInJson(value, (_item, depth) => (depth > maxDepth ? true : undefined)) === undefined;
}

/**
 * The JSON text of a value as it reads back from the database. jsonb keeps an object's
 * keys sorted (shorter first, then by bytes), and a JavaScript object puts integer-like
 * keys first in any case: serializing in that order is what makes "reads back exactly"
 * decidable before the value is stored.
 */
function serialize(value: unknown): string {
  return JSON.stringify(inStoredOrder(value));
}

function inStoredOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(inStoredOrder);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value).sort(jsonbKeyOrder);
  const ordered: Record<string, unknown> = {};
  for (const key of keys) ordered[key] = inStoredOrder((value as Record<string, unknown>)[key]);
  return ordered;
}

function jsonbKeyOrder(a: string, b: string): number {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length - right.length || Buffer.compare(left, right);
}
