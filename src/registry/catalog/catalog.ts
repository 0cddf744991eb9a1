import { sql } from 'drizzle-orm';
import { CircuitEventType, HealthEventType, ServiceEventType, toError, type HealthEventData } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { circuitBreakers, services } from '../../db/schema/index.js';
import type { EventFeed } from '../../events/feed.js';
import { readEvents } from '../../events/read.js';
import type { StoredEvent } from '../../events/types.js';
import type { Logger } from '../../logger.js';
import type { CircuitState } from '../breakers/machine.js';
import type { ServiceInstance } from '../instances/model.js';
import { fromSnapshot, type InstanceSnapshot } from '../services/model.js';

/** The breaker state a catalog follows (counts live in the table; they change on every report). */
export interface CatalogBreaker {
  state: CircuitState;
  openedAt: number | null;
}

export interface CatalogEntry {
  instance: ServiceInstance;
  breaker: CatalogBreaker | undefined;
}

/**
 * This process's in-memory copy of the service catalog (instances, their health
 * status, maintenance and breaker state), so discovery and selection never wait on
 * PostgreSQL. What Consul agents and Kubernetes informers do.
 *
 * It is loaded from one consistent snapshot (REPEATABLE READ) together with the
 * id of the newest event that snapshot contains, then kept current by applying
 * every later event in id order (ids are commit order). When the event feed
 * reconnects — notifications may have been lost while it was down — it reloads.
 *
 * Not followed: lease renewals (heartbeats are not events), so `lastHeartbeatAt`
 * and `expiresAt` here are as of the instance's last change; a lapsed instance
 * leaves the catalog when the expiry sweep removes it. Readers that need those
 * fields read them from the table.
 */
export class Catalog {
  private entries = new Map<string, CatalogEntry>();
  private byName = new Map<string, Set<string>>();
  private sortedByName = new Map<string, CatalogEntry[]>();
  /** Every event up to here is reflected. */
  appliedThrough = 0;
  private loaded = false;
  private loading: Promise<void> | undefined;
  private buffered: StoredEvent[] = [];
  private waiters: { id: number; resolve: () => void }[] = [];
  private unobserve: (() => void) | undefined;

  constructor(
    private readonly db: Db,
    private readonly feed: EventFeed,
    private readonly log: Logger,
    /** Called after each full load but the first (a reload: the LISTEN connection came back). */
    private readonly onReload?: () => void,
  ) {}

  async start(): Promise<void> {
    this.unobserve = this.feed.observe(
      (events) => this.onEvents(events),
      () => void this.reload(), // the LISTEN connection came back: notifications may have been lost
    );
    this.loading = this.load().finally(() => (this.loading = undefined));
    await this.loading;
  }

  stop(): void {
    this.unobserve?.();
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  /** Resolves once every event up to `eventId` is reflected (read-your-writes after a mutation). */
  async waitFor(eventId: number): Promise<void> {
    if (this.appliedThrough >= eventId && !this.loading) return;
    await new Promise<void>((resolve) => {
      this.waiters.push({ id: eventId, resolve });
      void this.feed.requestCatchUp();
    });
  }

  get(id: string): CatalogEntry | undefined {
    return this.entries.get(id);
  }

  /** The instances of one service, in id order. */
  byService(name: string): readonly CatalogEntry[] {
    let sorted = this.sortedByName.get(name);
    if (!sorted) {
      const ids = [...(this.byName.get(name) ?? [])].sort();
      sorted = ids.map((id) => this.entries.get(id)!);
      this.sortedByName.set(name, sorted);
    }
    return sorted;
  }

  all(): IterableIterator<CatalogEntry> {
    return this.entries.values();
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Services with at least one instance. */
  get serviceCount(): number {
    return this.byName.size;
  }

  /** Loads a fresh snapshot; events arriving meanwhile are applied after it. A failure retries. */
  reload(): Promise<void> {
    this.loading ??= this.load()
      .catch((error: unknown) => {
        this.log.error({ err: toError(error) }, 'catalog could not be reloaded; retrying in 1s');
        setTimeout(() => void this.reload(), 1_000).unref();
      })
      .finally(() => {
        this.loading = undefined;
        this.settleWaiters();
      });
    return this.loading;
  }

  private async load(): Promise<void> {
    this.buffered = [];
    try {
      const snapshot = await this.db.transaction(
        async (tx) => {
          const [rows, breakers, [head]] = await Promise.all([
            tx.select().from(services),
            tx.select({ serviceId: circuitBreakers.serviceId, state: circuitBreakers.state, openedAt: circuitBreakers.openedAt }).from(circuitBreakers),
            tx.execute<{ id: string | null }>(sql`select greatest((select max(id) from events), (select pruned_through from event_log_state)) as id`),
          ]);
          return { rows, breakers, appliedThrough: Number(head?.id ?? 0) };
        },
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      );
      const breakers = new Map(snapshot.breakers.map((row) => [row.serviceId, { state: row.state, openedAt: row.openedAt?.getTime() ?? null }]));
      this.entries = new Map();
      this.byName = new Map();
      this.sortedByName = new Map();
      for (const instance of snapshot.rows) this.put({ instance, breaker: breakers.get(instance.id) });
      this.appliedThrough = snapshot.appliedThrough;
      // Events committed after the snapshot, which the feed may already have passed on.
      await this.catchUpFromLog();
      const buffered = this.buffered;
      this.buffered = [];
      this.applyAll(buffered);
      if (this.loaded) this.onReload?.();
      this.loaded = true;
      this.log.info({ instances: this.entries.size, appliedThrough: this.appliedThrough }, 'catalog loaded');
    } catch (error) {
      this.buffered = [];
      throw error;
    }
  }

  private async catchUpFromLog(): Promise<void> {
    for (;;) {
      const fromMemory = this.feed.eventsAfter(this.appliedThrough, 1000);
      const page = fromMemory ?? (await readEvents(this.db, { after: this.appliedThrough, upTo: this.feed.head, limit: 1000 })).events;
      if (page.length === 0) return;
      this.applyAll(page);
      if (page.length < 1000 && this.appliedThrough >= this.feed.head) return;
    }
  }

  private onEvents(events: readonly StoredEvent[]): void {
    if (this.loading) {
      this.buffered.push(...events);
      return;
    }
    this.applyAll(events);
    this.settleWaiters();
  }

  private applyAll(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (event.id <= this.appliedThrough) continue;
      this.apply(event);
      this.appliedThrough = event.id;
    }
  }

  private apply(event: StoredEvent): void {
    const data = event.data as Record<string, unknown> & { id?: string };
    switch (event.type) {
      case ServiceEventType.REGISTERED: {
        const instance = fromSnapshot(data['instance'] as InstanceSnapshot);
        this.put({ instance, breaker: this.entries.get(instance.id)?.breaker });
        return;
      }
      case ServiceEventType.UNREGISTERED:
        this.remove(String(data.id));
        return;
      case HealthEventType.CHANGED: {
        const health = data as unknown as HealthEventData;
        const entry = this.entries.get(health.id);
        if (!entry || health.checkStatus === undefined) return;
        entry.instance = {
          ...entry.instance,
          checkStatus: health.checkStatus,
          maintenanceReason: health.maintenance?.reason ?? null,
          maintenanceSince: health.maintenance ? new Date(health.maintenance.since) : null,
        };
        return;
      }
      case CircuitEventType.OPENED:
      case CircuitEventType.HALF_OPENED:
      case CircuitEventType.CLOSED: {
        const entry = this.entries.get(String(data.id));
        if (!entry) return;
        const openedAt = data['openedAt'];
        entry.breaker = { state: data['to'] as CircuitState, openedAt: typeof openedAt === 'string' ? Date.parse(openedAt) : null };
        return;
      }
    }
  }

  private put(entry: CatalogEntry): void {
    const previous = this.entries.get(entry.instance.id);
    if (previous && previous.instance.name !== entry.instance.name) this.remove(entry.instance.id);
    this.entries.set(entry.instance.id, entry);
    let ids = this.byName.get(entry.instance.name);
    if (!ids) this.byName.set(entry.instance.name, (ids = new Set()));
    ids.add(entry.instance.id);
    this.sortedByName.delete(entry.instance.name);
  }

  private remove(id: string): void {
    const previous = this.entries.get(id);
    if (!previous) return;
    this.entries.delete(id);
    const ids = this.byName.get(previous.instance.name);
    ids?.delete(id);
    if (ids?.size === 0) this.byName.delete(previous.instance.name);
    this.sortedByName.delete(previous.instance.name);
  }

  private settleWaiters(): void {
    if (this.loading) return;
    const ready = this.waiters.filter((waiter) => waiter.id <= this.appliedThrough);
    this.waiters = this.waiters.filter((waiter) => waiter.id > this.appliedThrough);
    for (const waiter of ready) waiter.resolve();
  }
}
