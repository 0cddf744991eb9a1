import { isDeepStrictEqual } from 'node:util';
import { badInput, ConfigEventType, validateKey, validatePrefix, type ConfigEventData } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import { parseCursor } from '../../events/filter.js';
import { openEventStream } from '../../events/subscribe.js';
import type { StoredEvent } from '../../events/types.js';
import { apiEnvironment, storedEnvironment } from './definition.js';
import { isInherited } from './model.js';

/**
 * A change of the value a watcher of (key, environment) sees. `environment`,
 * `inherited`, `version` and `newValue` describe the entry that answers for the
 * watched environment after the change, exactly as `config(key, environment)` read
 * right after it answers; `changedEnvironment` and `deleted` say which entry the
 * write touched. (Deleting prod's value with a global value present: the entry
 * that changed is prod's, deleted; the entry that answers is the global one.)
 */
export interface ConfigChange {
  eventId: number;
  key: string;
  /** Whose value the watcher sees now (null: the global value); the changed entry's when none is left. */
  environment: string | null;
  /** The environment whose entry was written or deleted (null: the global entry). */
  changedEnvironment: string | null;
  /** The environment being watched (null: the global value). */
  watchedEnvironment: string | null;
  /** Effective values for the watched environment, before and after (null: none). */
  oldValue: unknown;
  newValue: unknown;
  /** Version of the entry named by `environment`. */
  version: number;
  /** The change deleted the entry of `changedEnvironment`. */
  deleted: boolean;
  /** The global value answers for the watched environment (as `config` says); for a value now gone, it was the global one. */
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
  let answering: { environment: string | null; version: number };
  let redacted = Boolean(data.secret);
  if (data.environment === watchedEnvironment) {
    const fallback = watchedEnvironment === null ? null : (data.globalValue ?? null);
    // Falling back to a secret global value: the watcher cannot be told what it is.
    if (data.globalSecret && watchedEnvironment !== null && (data.oldValue === null || data.newValue === null)) redacted = true;
    oldValue = data.oldValue ?? fallback;
    newValue = data.newValue ?? fallback;
    answering = answeringEntry(data, watchedEnvironment);
  } else if (data.environment === null && watchedEnvironment !== null && !(data.overriddenIn ?? []).includes(watchedEnvironment)) {
    oldValue = data.oldValue;
    newValue = data.newValue;
    answering = { environment: null, version: data.version };
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
    environment: answering.environment,
    changedEnvironment: data.environment,
    watchedEnvironment,
    oldValue: oldValue ?? null,
    newValue: newValue ?? null,
    version: answering.version,
    deleted: data.deleted,
    inherited: isInherited(watchedEnvironment, answering.environment),
    redacted,
    changedAt: event.createdAt,
  };
}

/**
 * After a change to the watched environment's own entry, the entry a read answers
 * with: that entry while it has a value; once deleted, the global entry it falls
 * back to (the bug this avoids: the watch said "prod, not inherited" while the read
 * said "global, inherited"); with no fallback, the deleted entry itself.
 */
function answeringEntry(data: ConfigEventData, watchedEnvironment: string | null): { environment: string | null; version: number } {
  const hasFallback = watchedEnvironment !== null && (data.globalValue != null || Boolean(data.globalSecret));
  // Events written before globalVersion was recorded cannot name the fallback's version.
  if (data.deleted && hasFallback) return { environment: null, version: data.globalVersion ?? data.version };
  return { environment: data.environment, version: data.version };
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
