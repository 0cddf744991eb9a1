import { validateKey } from '@switchboard/contracts';
import { validateConfig, type ConfigEntry } from '@switchboard/sdk';
import type { EtcdCalls } from './calls.js';
import { readKey } from './catalog.js';

/**
 * Configuration at `<configPrefix><key>`, each value plain JSON (`etcdctl get /config/api.timeout` shows
 * `5000`). Its version is etcd's version of the key: 1 when created, one more at each put.
 */

export async function setConfig(calls: EtcdCalls, prefix: string, key: string, value: unknown): Promise<ConfigEntry> {
  validateConfig(key, value);
  const json = JSON.stringify(value);
  const response = await calls.run(() => calls.client.kv.put({ key: Buffer.from(`${prefix}${key}`), value: Buffer.from(json), prev_kv: true }));
  // The key's version after this put is the one before it plus one: the put is atomic.
  const version = response.prev_kv ? Number(response.prev_kv.version) + 1 : 1;
  return { key, value: JSON.parse(json) as unknown, version, updatedAt: new Date().toISOString() };
}

export async function getConfig(calls: EtcdCalls, prefix: string, key: string, warn: (message: string) => void): Promise<unknown> {
  validateKey(key);
  const kv = await readKey(calls, `${prefix}${key}`);
  return kv && parseConfigValue(kv.key.toString(), kv.value.toString(), warn);
}

/** A stored value; undefined (and a warning) when it is not JSON. */
export function parseConfigValue(key: string, value: string, warn: (message: string) => void): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    warn(`ignored the value at "${key.slice(0, 200)}": not JSON.`);
    return undefined;
  }
}
