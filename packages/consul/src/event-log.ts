import { randomBytes } from 'node:crypto';
import { badInput, jsonProblem, ServiceEventType, textFaults } from '@switchboard/contracts';
import type { EventDefinition, EventHandler, EventType, RegistryEvent, Stop } from '@switchboard/sdk';
import { BlockingQuery } from './blocking-query.js';
import type { RegistryContext } from './context.js';
import { describe } from './errors.js';
import { isRecord } from './instances.js';
import { entriesOf, kvPath, parseJson, type KvEntry } from './kv.js';
import { watchServiceEvents } from './service-events.js';

/**
 * Events in Consul's KV. Consul's own user events (/v1/event/fire) are gossip, best effort and not kept, and
 * Switchboard's Consul API does not serve them (501); KV is kept, ordered and blocking-queryable everywhere.
 *
 * Layout: `<eventPrefix><minute>/<id>`, the minute "YYYYMMDDhhmm" (UTC) and the id
 * "<15-digit milliseconds>-<8 hex>", so keys sort by time. A subscriber follows the prefix by blocking query
 * (`?recurse`) and delivers the keys it had not seen, in key order; it remembers the keys of the last answer,
 * so after an outage it delivers what was published meanwhile. A publisher deletes the minutes older than the
 * retention (at most one sweep a minute), one recursive delete each.
 *
 * `service.registered` and `service.unregistered` are not stored: they are read off the catalog (service-events.ts).
 */

/** As Switchboard's server validates published events (src/registry/custom-events). */
const EVENT_TYPE = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)+$/;
const RESERVED_PREFIXES = ['service.', 'component.', 'config.', 'health.', 'circuit.', 'token.', 'alert.', 'switchboard.'];
const MAX_DATA_BYTES = 64 * 1024;
const SWEEP_EVERY_MS = 60_000;

export class EventLog {
  private lastSweep = 0;

  constructor(private readonly context: RegistryContext) {}

  async publish(definition: EventDefinition): Promise<RegistryEvent> {
    validateEvent(definition);
    const now = new Date();
    const id = `${String(now.getTime()).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
    const event: RegistryEvent = { id, type: definition.type, source: definition.source, data: { ...definition.data }, timestamp: now.toISOString() };
    await this.context.kv.put(`${this.context.settings.eventPrefix}${minuteOf(now)}/${id}`, JSON.stringify(event));
    await this.sweep(now);
    return event;
  }

  async subscribe(eventType: EventType | readonly EventType[], handler: EventHandler): Promise<Stop> {
    const { context } = this;
    const patterns = typeof eventType === 'string' ? [eventType] : [...eventType];
    let seen: Set<string> | undefined;
    const query = new BlockingQuery<KvEntry[]>({
      http: context.http,
      path: kvPath(context.settings.eventPrefix),
      query: { recurse: true },
      notFoundIsAnswer: true,
      waitMs: context.settings.watchWaitMs,
      rate: context.settings.watchRate,
      warn: context.warn,
      read: (answer) => entriesOf(answer, context.warn),
      fingerprint: (entries) => entries.map((entry) => `${entry.key}@${entry.modifyIndex}`).join('\n'),
      onChange: (entries) => {
        const fresh = seen ? entries.filter((entry) => !seen!.has(entry.key)) : [];
        seen = new Set(entries.map((entry) => entry.key));
        for (const entry of fresh) {
          const event = this.read(entry);
          if (event && patterns.some((pattern) => matchesType(event.type, pattern))) handler(event);
        }
      },
      onStale: (error) => context.warn(`the event subscription lost ${context.settings.backend} (${describe(error)}); retrying`),
    });
    // Service events are not in KV: they are read off the catalog (service-events.ts), only when asked for.
    const builtIn = [ServiceEventType.REGISTERED, ServiceEventType.UNREGISTERED].filter((type) => patterns.some((pattern) => matchesType(type, pattern)));
    const stopServiceEvents = builtIn.length > 0 ? await watchServiceEvents(context, (type) => (builtIn as string[]).includes(type), handler) : undefined;
    try {
      await query.start();
    } catch (error) {
      await stopServiceEvents?.();
      throw error;
    }
    return context.running.add(async () => {
      await Promise.all([query.stop(), stopServiceEvents?.()]);
    });
  }

  /** Deletes the minutes older than the retention; at most once a minute per registry, and never failing a publish. */
  private async sweep(now: Date): Promise<void> {
    if (now.getTime() - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now.getTime();
    const { kv, settings } = this.context;
    const oldest = minuteOf(new Date(now.getTime() - settings.eventRetentionMs));
    try {
      for (const folder of await kv.keys(settings.eventPrefix, '/')) {
        const minute = folder.slice(settings.eventPrefix.length, -1);
        if (/^\d{12}$/.test(minute) && minute < oldest) await kv.delete(folder, { recurse: true });
      }
    } catch (error) {
      this.context.warn(`sweeping old events from ${settings.backend} failed (${describe(error)}); the next publish tries again`);
      this.lastSweep = 0;
    }
  }

  private read(entry: KvEntry): RegistryEvent | undefined {
    const parsed = parseJson(entry, this.context.warn);
    if (!parsed) return undefined;
    const event = parsed.value;
    const valid =
      isRecord(event) &&
      typeof event['id'] === 'string' &&
      entry.key.endsWith(`/${event['id']}`) &&
      typeof event['type'] === 'string' &&
      typeof event['source'] === 'string' &&
      isRecord(event['data']) &&
      typeof event['timestamp'] === 'string';
    if (!valid) {
      this.context.warn(`KV "${entry.key.slice(0, 200)}" is not an event as Switchboard writes it; ignored`);
      return undefined;
    }
    const { id, type, source, data, timestamp } = event as unknown as RegistryEvent;
    return { id, type, source, data, timestamp };
  }
}

/** "deploy.finished" matches itself; "deploy.*" matches every type under "deploy." (as the server's filter). */
function matchesType(type: string, pattern: string): boolean {
  return pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
}

/** "202612071530": the UTC minute, which sorts as it reads. */
function minuteOf(time: Date): string {
  return time.toISOString().slice(0, 16).replaceAll(/[-T:]/g, '');
}

function validateEvent(event: EventDefinition): void {
  const issues: { field: string; message: string }[] = [];
  if (typeof event.type !== 'string' || event.type.length > 128 || !EVENT_TYPE.test(event.type)) {
    issues.push({ field: 'type', message: 'must be lower-case dotted words, like "deploy.finished" (at most 128 characters)' });
  } else if (RESERVED_PREFIXES.some((prefix) => event.type.startsWith(prefix))) {
    issues.push({ field: 'type', message: `must not start with a namespace the registry reserves (${RESERVED_PREFIXES.join(' ')})` });
  }
  if (typeof event.source !== 'string' || event.source.length === 0 || event.source.length > 128 || textFaults(event.source, 'printable').length > 0) {
    issues.push({ field: 'source', message: 'must be 1 to 128 printable characters' });
  }
  const data = event.data ?? {};
  const problem = isRecord(data) ? jsonProblem(data, { maxBytes: MAX_DATA_BYTES, maxDepth: 32 }) : 'must be an object';
  if (problem) issues.push({ field: 'data', message: problem });
  if (issues.length > 0) throw badInput(`Invalid event: ${issues.map((issue) => `${issue.field} ${issue.message}`).join('; ')}.`, { issues });
}
