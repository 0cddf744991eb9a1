import type { OnDiscoveredInstancesChangedSubscription } from '@switchboard/client';
import { LRUCache } from 'lru-cache';
import type { DiscoveredInstance } from './types.js';

type InstanceChange = OnDiscoveredInstancesChangedSubscription['instancesChanged'];
export type ServiceChange = Extract<InstanceChange, { __typename: 'ServiceChange' }>;
export type HealthChange = Extract<InstanceChange, { __typename: 'HealthChange' }>;

interface Tracked {
  instance: DiscoveredInstance;
  /** Id of the event the instance's fields are as of. */
  version: number;
  /** Id of the event its health status is as of (a health event may be newer than the instance's last change). */
  statusVersion: number;
}

/** Remembered removals and early health changes, per service, at most (the least recently used go first). */
const MEMORY = 1_000;

/**
 * One service's instances, kept current by pushed changes (catalog changes and health transitions).
 * Every change is applied only if it is newer (by event id) than what it would replace, and a health
 * change for an instance not yet seen waits for that instance, so the result does not depend on the
 * order changes and query answers arrive in.
 */
export class CachedService {
  private readonly tracked = new Map<string, Tracked>();
  /** Instances removed, by the removal's event id: older changes for them are ignored. */
  private readonly removed = new LRUCache<string, number>({ max: MEMORY });
  /** Health changes that arrived before their instance did. */
  private readonly earlyHealth = new LRUCache<string, { eventId: number; change: HealthChange }>({ max: MEMORY });
  /** Events up to this id are reflected in the last query's answer. */
  private floor = 0;
  /** instances(), kept until the next change: a warm read is the hot path of every call. */
  private ordered: readonly DiscoveredInstance[] | undefined;

  /** Whether anything is known (from the registry or a snapshot). */
  hasData = false;
  /** The registry could not be reached since `knownAt`: the instances are the last known ones. */
  stale = false;
  /** The last moment the instances were known to be current (ms since the epoch). */
  knownAt = 0;
  /** When the registry was last asked (ms since the epoch); the TTL counts from here. */
  loadedAt = 0;
  loading: Promise<void> | undefined;
  /**
   * Every change of this service up to this event id is reflected: by the last query's answer, or
   * applied from the subscription. A change delivered again (a subscription widened from an earlier
   * point) is recognised by it and skipped.
   */
  cursor = 0;

  constructor(readonly name: string) {}

  /** Instances in id order (the order the server's catalog and selection use). */
  instances(): readonly DiscoveredInstance[] {
    this.ordered ??= [...this.tracked.values()].map((entry) => entry.instance).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.ordered;
  }

  /** The answer of a query made when `eventId` was the log's last event. */
  replace(instances: readonly DiscoveredInstance[], eventId: number): void {
    this.ordered = undefined;
    this.tracked.clear();
    this.removed.clear();
    this.earlyHealth.clear();
    for (const instance of instances) this.tracked.set(instance.id, { instance, version: eventId, statusVersion: eventId });
    this.floor = eventId;
    this.cursor = eventId;
    this.hasData = true;
  }

  /** The instances as a snapshot recorded them; any change from the registry replaces them. */
  restore(instances: readonly DiscoveredInstance[], knownAt: number): void {
    this.replace(instances, 0);
    this.stale = true;
    this.knownAt = knownAt;
  }

  /** Applies a registration, update or removal; false when it was older than what is known. */
  applyServiceChange(change: ServiceChange): boolean {
    const eventId = Number(change.eventId);
    const current = this.tracked.get(change.serviceId);
    if (eventId <= this.floor || (current && eventId <= current.version) || (this.removed.get(change.serviceId) ?? 0) >= eventId) return false;
    if (change.kind === 'DEREGISTERED' || change.kind === 'EXPIRED' || change.kind === 'REAPED') {
      this.ordered = undefined;
      this.tracked.delete(change.serviceId);
      this.removed.set(change.serviceId, eventId);
      return true;
    }
    let next: Tracked = { instance: change.instance, version: eventId, statusVersion: eventId };
    // A newer health change already applied (or waiting) wins over the status this snapshot carries.
    if (current && current.statusVersion > eventId)
      next = { ...next, instance: { ...next.instance, health: current.instance.health }, statusVersion: current.statusVersion };
    const early = this.earlyHealth.get(change.serviceId);
    this.earlyHealth.delete(change.serviceId);
    this.ordered = undefined;
    this.tracked.set(change.serviceId, next);
    if (early && early.eventId > next.statusVersion) this.applyHealthChange(early.change);
    return true;
  }

  /** Applies an instance's new health status; false when it was older than what is known. */
  applyHealthChange(change: HealthChange): boolean {
    const eventId = Number(change.eventId);
    if (eventId <= this.floor || (this.removed.get(change.serviceId) ?? 0) >= eventId) return false;
    const current = this.tracked.get(change.serviceId);
    if (!current) {
      const waiting = this.earlyHealth.get(change.serviceId);
      if (!waiting || waiting.eventId < eventId) this.earlyHealth.set(change.serviceId, { eventId, change });
      return false;
    }
    if (eventId <= current.statusVersion) return false;
    current.instance = { ...current.instance, health: { status: change.instanceStatus } };
    current.statusVersion = eventId;
    this.ordered = undefined;
    return true;
  }
}
