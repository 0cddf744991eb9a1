import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../../db/client.js';
import { badInput } from '../../errors.js';
import type { EventFeed } from '../../events/feed.js';
import { parseCursor } from '../../events/filter.js';
import { openEventStream } from '../../events/subscribe.js';
import type { StoredEvent } from '../../events/types.js';
import { apiEnvironment, storedEnvironment, validateKey, validatePrefix } from './definition.js';
import { ConfigEventType, type ConfigEventData } from './events.js';

/** A change of the value a watcher of (key, environment) sees. */
export interface ConfigChange {
  eventId: number;
  key: string;
  /** The environment whose entry changed; null when it was the global value. */
  environment: string | null;
  /** The environment being watched (null: the global value). */
  watchedEnvironment: string | null;
  /** Effective values for the watched environment, before and after (null: none). */
  oldValue: unknown;
  newValue: unknown;
  /** Version of the entry that changed. */
  version: number;
  deleted: boolean;
  /** True when a global change shows through because the environment has no value of its own. */
  inherited: boolean;
  /** The values are secret and not carried by changes; read them with `config` if you may. */
  redacted: boolean;
  changedAt: Date;
}

export interface ConfigWatch {
  key?: string | null | undefined;
  prefix?: string | null | undefined;
  environment?: string | null | undefined;
  after?: string | null | undefined;
}

/**
 * Reads a `config.changed` event as a watcher of `environment` sees it, or
 * undefined when its effective value did not change:
 * - a change to the environment's own entry shows, falling back to the global
 *   value on either side where the entry had or has no value;
 * - a change to the global entry shows unless, at that commit, the environment
 *   had a value of its own.
 */
export function toConfigChange(event: StoredEvent, watchedEnvironment: string | null): ConfigChange | undefined {
  const data = event.data as unknown as ConfigEventData;
  let oldValue: unknown;
  let newValue: unknown;
  let inherited = false;
  let redacted = Boolean(data.secret);
  if (data.environment === watchedEnvironment) {
    const fallback = watchedEnvironment === null ? null : (data.globalValue ?? null);
    // Falling back to a secret global value: the watcher cannot be told what it is.
    if (data.globalSecret && watchedEnvironment !== null && (data.oldValue === null || data.newValue === null)) redacted = true;
    oldValue = data.oldValue ?? fallback;
    newValue = data.newValue ?? fallback;
  } else if (data.environment === null && watchedEnvironment !== null && !(data.overriddenIn ?? []).includes(watchedEnvironment)) {
    oldValue = data.oldValue;
    newValue = data.newValue;
    inherited = true;
  } else {
    return undefined;
  }
  // Secret changes always show (their values are withheld, so they cannot be compared).
  if (!redacted && isDeepStrictEqual(oldValue, newValue)) return undefined;
  if (redacted) {
    oldValue = null;
    newValue = null;
  }
  return {
    eventId: event.id,
    key: data.key,
    environment: data.environment,
    watchedEnvironment,
    oldValue: oldValue ?? null,
    newValue: newValue ?? null,
    version: data.version,
    deleted: data.deleted,
    inherited,
    redacted,
    changedAt: event.createdAt,
  };
}

/** Changes of one key, or of every key under a prefix, as one environment sees them. */
export function watchConfig(db: Db, feed: EventFeed, watch: ConfigWatch): Promise<AsyncIterableIterator<ConfigChange>> {
  if ((watch.key == null) === (watch.prefix == null)) throw badInput('Watch either one key or one prefix.');
  const environment = apiEnvironment(storedEnvironment(watch.environment));
  const key = watch.key == null ? undefined : validateKey(watch.key);
  const prefix = watch.prefix == null ? undefined : validatePrefix(watch.prefix);
  return openEventStream(db, feed, {
    after: parseCursor(watch.after),
    filter: {
      types: [ConfigEventType.CHANGED],
      dataContains: key === undefined ? undefined : { key },
      dataPrefix: prefix ? { field: 'key', prefix } : undefined,
    },
    project: (event) => toConfigChange(event, environment),
  });
}
