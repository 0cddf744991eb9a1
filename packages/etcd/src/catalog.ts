import semver from 'semver';
import { badInput } from '@switchboard/contracts';
import type { DiscoveryFilter, ServiceInstance } from '@switchboard/sdk';
import { Range, type IKeyValue } from 'etcd3';
import type { EtcdCalls } from './calls.js';
import { decodeInstance, parseInstanceKey, type InstanceRecord } from './instance-record.js';

/** Reads of the service prefix: instances decoded, malformed values skipped and reported once each. */

export interface InstanceFilter {
  passingOnly: boolean;
  tags: readonly string[];
  range: string | undefined;
}

/** The same rules as the server's `discoverServices`: at most 64 tags, a valid semver range. */
export function compileFilter(filter: DiscoveryFilter = {}): InstanceFilter {
  const tags = filter.tags ?? [];
  if (tags.length > 64) throw badInput('At most 64 tags may be filtered on.', { field: 'tags' });
  const version = filter.version?.trim();
  const range = version ? (version.length <= 256 ? semver.validRange(version) : null) : undefined;
  if (range === null) throw badInput(`"${filter.version!.slice(0, 64)}" is not a semver range (try "^1.2", ">=2.0.0 <3" or "1.x").`, { field: 'version' });
  return { passingOnly: filter.passingOnly ?? false, tags, range };
}

export function matches(instance: ServiceInstance, filter: InstanceFilter): boolean {
  if (filter.passingOnly && instance.health.status !== 'PASSING') return false;
  if (!filter.tags.every((tag) => instance.tags.includes(tag))) return false;
  return filter.range === undefined || (instance.version !== null && semver.satisfies(instance.version, filter.range));
}

export const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Decodes values under the service prefix, remembering each key's last decoding by its revision: a watch
 * delivering the whole set after each change decodes only what changed, and warns of a bad value once.
 */
export class InstanceDecoder {
  private readonly known = new Map<string, { revision: number; record: InstanceRecord | undefined }>();

  constructor(
    private readonly prefix: string,
    private readonly warn: (message: string) => void,
  ) {}

  decode(entry: { key: string; value: string; modRevision: number }): InstanceRecord | undefined {
    const cached = this.known.get(entry.key);
    if (cached?.revision === entry.modRevision) return cached.record;
    const record = decodeEntry(this.prefix, entry, this.warn);
    this.known.set(entry.key, { revision: entry.modRevision, record });
    return record;
  }

  /** Forgets keys no longer present. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.known.keys()) if (!keys.has(key)) this.known.delete(key);
  }
}

export function decodeEntry(prefix: string, entry: { key: string; value: string }, warn: (message: string) => void): InstanceRecord | undefined {
  const key = parseInstanceKey(prefix, entry.key);
  if (!key) {
    warn(`skipped the key "${entry.key.slice(0, 200)}": not <prefix><service>/<id>.`);
    return undefined;
  }
  const decoded = decodeInstance(key, entry.value);
  if (!decoded.ok) warn(`skipped the instance at "${entry.key.slice(0, 200)}": ${decoded.problem}.`);
  return decoded.ok ? decoded.value : undefined;
}

/** Every key and value under `prefix`. */
export async function rangeOf(calls: EtcdCalls, prefix: string, options: { keysOnly?: boolean } = {}): Promise<IKeyValue[]> {
  const bounds = Range.prefix(prefix);
  const response = await calls.run(() => calls.client.kv.range({ key: bounds.start, range_end: bounds.end, keys_only: options.keysOnly ?? false }));
  return response.kvs;
}

/** The keys of the instances with this id, under any service (keys only: the whole prefix, but no values). */
export async function keysOfId(calls: EtcdCalls, prefix: string, id: string): Promise<string[]> {
  const keys = await rangeOf(calls, prefix, { keysOnly: true });
  return keys.map((kv) => kv.key.toString()).filter((key) => parseInstanceKey(prefix, key)?.id === id);
}

/** One key's value, with its lease; undefined when absent. */
export async function readKey(calls: EtcdCalls, key: string): Promise<IKeyValue | undefined> {
  const response = await calls.run(() => calls.client.kv.range({ key: Buffer.from(key) }));
  return response.kvs[0];
}
