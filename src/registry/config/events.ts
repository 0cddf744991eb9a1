import type { NewEvent } from '../../events/types.js';
import { EVENT_SOURCE } from '../event-source.js';

export const ConfigEventType = {
  CHANGED: 'config.changed',
} as const;

/**
 * What a `config.changed` event carries. Besides the entry's own old and new value
 * it records the context a watcher of some environment needs to compute the
 * effective value, as of the commit: for an environment's entry, the global value
 * it falls back to; for the global entry, which environments override it.
 */
export interface ConfigEventData {
  key: string;
  /** null: the global entry changed. */
  environment: string | null;
  version: number;
  deleted: boolean;
  /** null when the entry had no value before (new, or previously deleted). */
  oldValue: unknown;
  /** null when the entry was deleted. */
  newValue: unknown;
  /** For an environment's entry: the global value at that moment (null if none). */
  globalValue?: unknown;
  /**
   * For an environment's entry: the global entry's version at that moment (null if
   * none), so a deletion that falls back to it names the version a read then shows.
   * Absent from events written before it was recorded.
   */
  globalVersion?: number | null;
  /** For the global entry: environments with a value of their own, which do not see this change. */
  overriddenIn?: string[];
  /** The entry is secret: its values are not in the event. */
  secret?: true;
  /** The global value this environment falls back to is secret (so not in `globalValue`). */
  globalSecret?: true;
}

export function configChangedEvent(data: ConfigEventData): NewEvent {
  return { type: ConfigEventType.CHANGED, source: EVENT_SOURCE, data: { ...data } };
}
