import { ConfigEventType, SwitchboardError, validateFlags } from '@switchboard/contracts';
import { canReadSecret, type Principal } from '../../registry/access/index.js';
import { deleteConfigTree, getConfig, listConfigs, type ConfigEntry } from '../../registry/config/index.js';
import type { RouteModule } from '../api.js';
import { ConsulError } from '../errors.js';
import { indexOfEvent, type TopicsOf } from '../indexes.js';
import { bodyOfValue, configKeyOf, configPrefixOf, kvKeyOf, valueOfBody } from '../kv-mapping.js';
import type { ConsulRequest } from '../request.js';
import type { Answer } from '../router.js';

/**
 * /v1/kv: Consul's key/value store, served by the configuration store (global values; see
 * kv-mapping.ts for how keys and values map). Every write is a configuration write, with its
 * version, history, event and actor. A value's CreateIndex and ModifyIndex are the indexes of
 * the events that created and last changed it, on X-Consul-Index's scale (a single key's
 * X-Consul-Index is its ModifyIndex, as in Consul): clients block on either.
 */
export const kvRoutes: RouteModule = ({ db, indexes, settings, configWriter }) => {
  const indexOf = (request: ConsulRequest) => {
    const key = request.param('key');
    return isListing(request) ? indexes.ofPrefix(kvTopic(key)) : indexes.of(kvTopic(key));
  };
  /** Before a blocking read of one key waits: its ModifyIndex, when memory has not seen it (written before this process started). */
  const prepare = async (request: ConsulRequest) => {
    const kvKey = request.param('key');
    if (isListing(request) || kvKey === '' || indexes.knows(kvTopic(kvKey))) return;
    const entry = await getConfig(db, configKeyOf(kvKey));
    if (entry) indexes.learn(kvTopic(kvKey), entry.modifiedEventId);
  };
  return [
    { method: 'GET', pattern: '/v1/kv/*key', scope: 'READ', index: indexOf, prepare, handle: (request) => read(request) },
    { method: 'PUT', pattern: '/v1/kv/*key', scope: 'WRITE', handle: (request) => put(request) },
    { method: 'DELETE', pattern: '/v1/kv/*key', scope: 'WRITE', handle: (request) => remove(request) },
  ];

  async function read(request: ConsulRequest): Promise<Answer> {
    const kvKey = request.param('key');
    if (request.query.has('keys')) return listKeys(request, kvKey);
    if (request.query.has('recurse')) {
      const entries = (await listInKeyOrder(kvKey)).filter((entry) => readable(request.principal, entry));
      return entries.length === 0 ? NOT_FOUND : kvPairs(entries);
    }
    const entry = kvKey === '' ? null : await getConfig(db, configKeyOf(kvKey));
    if (!entry) return NOT_FOUND;
    if (!readable(request.principal, entry)) {
      throw new ConsulError(403, `Permission denied: "${kvKey}" holds a secret value, readable only by tokens that may write it.`);
    }
    indexes.learn(kvTopic(kvKey), entry.modifiedEventId);
    // One key's X-Consul-Index is its ModifyIndex, as in Consul: a client blocks on either.
    const index = indexOfEvent(entry.modifiedEventId);
    if (request.query.has('raw')) return { text: bodyOfValue(entry.value), contentType: 'text/plain; charset=utf-8', index };
    return { ...kvPairs([entry]), index };
  }

  /**
   * `?cas=N` as the version the write expects. N is a ModifyIndex; the domain's compare-and-set
   * is on the version. The value whose ModifyIndex is N is at one version, and every change moves
   * both, so the write at that version happens only if nothing changed since N. 0: the key must
   * not exist. A value not at N gets a version none can have: the write (after its
   * authorization, in the domain) answers false.
   */
  async function expectedVersionAt(key: string, cas: bigint | undefined): Promise<number | undefined> {
    if (cas === undefined) return undefined;
    if (cas === 0n) return 0;
    const entry = await getConfig(db, key);
    return entry !== null && BigInt(indexOfEvent(entry.modifiedEventId)) === cas ? entry.version : NO_VERSION;
  }

  /** `?keys`: the keys under a prefix; with `?separator`, rolled up to the next separator after it (Consul's "folders"). */
  async function listKeys(request: ConsulRequest, kvPrefix: string): Promise<Answer> {
    const separator = request.string('separator') ?? '';
    const keys: string[] = [];
    for (const entry of await listInKeyOrder(kvPrefix)) {
      let key = kvKeyOf(entry.key);
      const at = separator === '' ? -1 : key.indexOf(separator, kvPrefix.length);
      if (at !== -1) key = key.slice(0, at + separator.length);
      if (keys.at(-1) !== key) keys.push(key);
    }
    // As Consul: nothing under a prefix is a 404; the whole store, empty, is an empty list.
    return keys.length === 0 && kvPrefix !== '' ? NOT_FOUND : { body: keys };
  }

  /**
   * The values under a prefix in byte order of their keys, as Consul lists them. The database's
   * collation may order "a.b.c", "a.bc", "a.b.d" as words; a roll-up to "a/b/" needs the keys of
   * one folder next to each other.
   */
  async function listInKeyOrder(kvPrefix: string): Promise<ConfigEntry[]> {
    return (await listConfigs(db, configPrefixOf(kvPrefix))).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async function put(request: ConsulRequest): Promise<Answer> {
    refuseSessions(request);
    const kvKey = request.param('key');
    if (kvKey === '') throw new ConsulError(400, 'Missing key name');
    const key = configKeyOf(kvKey);
    const cas = casOf(request);
    const flags = flagsOf(request);
    const value = valueOfBody(await request.rawBody());
    const expectedVersion = await expectedVersionAt(key, cas);
    return { body: await unlessConflict(() => configWriter.set({ key, value, flags, expectedVersion }, request.principal)) };
  }

  async function remove(request: ConsulRequest): Promise<Answer> {
    refuseSessions(request);
    const kvKey = request.param('key');
    const cas = casOf(request);
    if (request.query.has('recurse')) {
      const prefix = configPrefixOf(kvKey);
      await deleteConfigTree(db, { prefix }, settings.config, request.principal);
      return { body: true };
    }
    if (kvKey === '') throw new ConsulError(400, 'Missing key name');
    const key = configKeyOf(kvKey);
    const expectedVersion = await expectedVersionAt(key, cas);
    try {
      return { body: await unlessConflict(() => configWriter.delete({ key, expectedVersion }, request.principal)) };
    } catch (error) {
      // Deleting what is not there succeeds, as in Consul.
      if (error instanceof SwitchboardError && error.code === 'NOT_FOUND') return { body: true };
      throw error;
    }
  }
};

/** Config changes that KV shows (global values), as index topics `kv:<kv key>`. */
export function configTopics(): TopicsOf {
  return (event) => {
    if (event.type !== ConfigEventType.CHANGED || event.data['environment'] != null) return [];
    return [kvTopic(kvKeyOf(String(event.data['key'])))];
  };
}

const kvTopic = (kvKey: string) => `kv:${kvKey}`;

/** Consul answers a missing key with an empty 404 (and its index). */
const NOT_FOUND: Answer = { status: 404, text: '' };

function isListing(request: ConsulRequest): boolean {
  return request.query.has('recurse') || request.query.has('keys');
}

/**
 * Consul's KVPair list as JSON. Value is base64, null for an empty value; LockIndex is 0 (no
 * sessions). Written by hand for Flags, a uint64: its digits go out as stored, where a
 * JavaScript number would round those above 2^53.
 */
function kvPairs(entries: readonly ConfigEntry[]): Answer {
  const pairs = entries.map((entry) => {
    const bytes = bodyOfValue(entry.value);
    const value = bytes.length === 0 ? null : bytes.toString('base64');
    const key = JSON.stringify(kvKeyOf(entry.key));
    return `{"LockIndex":0,"Key":${key},"Flags":${BigInt(entry.flags)},"Value":${JSON.stringify(value)},"CreateIndex":${indexOfEvent(entry.createdEventId)},"ModifyIndex":${indexOfEvent(entry.modifiedEventId)}}`;
  });
  return { text: `[${pairs.join(',')}]`, contentType: 'application/json' };
}

function readable(principal: Principal, entry: ConfigEntry): boolean {
  return !entry.secret || canReadSecret(principal, entry.key);
}

/** A version no value has (above what the version column holds): a compare-and-set on it fails. */
const NO_VERSION = 2 ** 31;

/** `?cas=N`: the ModifyIndex the value must have (0: it must not exist). Undefined without it. */
function casOf(request: ConsulRequest): bigint | undefined {
  const text = request.string('cas');
  if (text === undefined) return undefined;
  if (!/^\d{1,20}$/.test(text) || BigInt(text) > 18446744073709551615n) {
    throw new ConsulError(400, `Invalid CAS index: "${text.slice(0, 40)}" is not an unsigned 64-bit number.`);
  }
  return BigInt(text);
}

/** `?flags=N`, Consul's opaque uint64; a PUT without it sets 0, as Consul does. */
function flagsOf(request: ConsulRequest): string {
  const text = request.string('flags');
  if (text === undefined) return '0';
  try {
    return validateFlags(text);
  } catch {
    throw new ConsulError(400, `Invalid flags: "${text.slice(0, 40)}" is not an unsigned 64-bit number.`);
  }
}

function refuseSessions(request: ConsulRequest): void {
  if (request.query.has('acquire') || request.query.has('release')) {
    throw new ConsulError(501, 'Not supported by Switchboard: sessions, so ?acquire and ?release (locks). See docs/consul.md.');
  }
}

/** true when the write happened, false when its compare-and-set failed (Consul's answer), nothing written. */
async function unlessConflict(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof SwitchboardError && error.code === 'CONFLICT') return false;
    throw error;
  }
}
