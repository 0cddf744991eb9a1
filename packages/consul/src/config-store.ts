import { validateKey } from '@switchboard/contracts';
import { validateConfig, type ConfigChangeCallback, type ConfigEntry, type Stop } from '@switchboard/sdk';
import { BlockingQuery } from './blocking-query.js';
import { describe } from './errors.js';
import { entriesOf, kvPath, parseJson } from './kv.js';
import type { RegistryContext } from './context.js';

/**
 * Configuration in Consul's KV: the key "api.timeout" is `<configPrefix>api/timeout` (a dotted key's parts as
 * folders, which every Consul and Switchboard's own KV accept), its value the JSON of the value, readable by
 * any Consul client (consul-template, `consul kv get`). A value there that is not JSON was not written here:
 * it reads as absent, with a warning. The version is the value's ModifyIndex.
 */
export class ConfigStore {
  constructor(private readonly context: RegistryContext) {}

  kvKeyOf(key: string): string {
    return this.context.settings.configPrefix + validateKey(key).replaceAll('.', '/');
  }

  async set(key: string, value: unknown): Promise<ConfigEntry> {
    validateConfig(key, value);
    const kvKey = this.kvKeyOf(key);
    await this.context.kv.put(kvKey, JSON.stringify(value));
    // The answer is the value as the next read sees it (another writer may have come in between).
    const { entry } = await this.context.kv.get(kvKey);
    const stored = entry ? parseJson(entry, this.context.warn) : undefined;
    return { key, value: stored ? stored.value : value, version: entry?.modifyIndex ?? 0, updatedAt: new Date().toISOString() };
  }

  async get(key: string): Promise<unknown> {
    const { entry } = await this.context.kv.get(this.kvKeyOf(key));
    return entry ? parseJson(entry, this.context.warn)?.value : undefined;
  }

  /** A blocking query on the key: `callback` gets each change after the current value (read before this resolves). */
  async watch(key: string, callback: ConfigChangeCallback): Promise<Stop> {
    const { context } = this;
    const kvKey = this.kvKeyOf(key);
    let current: unknown;
    let started = false;
    const query = new BlockingQuery<string | null>({
      http: context.http,
      path: kvPath(kvKey),
      notFoundIsAnswer: true,
      waitMs: context.settings.watchWaitMs,
      rate: context.settings.watchRate,
      warn: context.warn,
      read: (answer) => entriesOf(answer, context.warn)[0]?.text ?? null,
      onChange: (text) => {
        const entry = text === null ? undefined : parseJson({ key: kvKey, text, createIndex: 0, modifyIndex: 0 }, context.warn);
        // Not JSON: someone else's write; the last value stands until a JSON one comes.
        if (text !== null && entry === undefined) return;
        const next = entry?.value;
        const previous = current;
        current = next;
        if (started && (previous !== undefined || next !== undefined)) callback(key, previous, next);
      },
      onStale: (error) => context.warn(`the watch of configuration "${key}" lost ${context.settings.backend} (${describe(error)}); retrying`),
    });
    await query.start();
    started = true;
    return context.running.add(() => query.stop());
  }
}
