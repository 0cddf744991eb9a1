import { randomBytes } from 'node:crypto';
import { formatDuration, toError } from '@switchboard/contracts';
import type { CatalogSource, ServiceInstance as DeliveredInstance, Stop } from '@switchboard/sdk';
import type { Db } from '../../db/client.js';
import type { Logger } from '../../logger.js';
import { WakeLoop } from '../../wake-loop.js';
import { acquireLeadership, lapseLeadership } from '../leadership/index.js';
import type { SourceConfig, SourceType } from './config.js';
import { reconcileSource, removeSourceInstances, sourceRole, SourceLeadershipLost, type SourceLease } from './reconcile.js';
import { wantedInstances, type Refusal } from './wanted.js';

export interface SourceFollowerOptions {
  /** Names this process as the holder (logs, the `leaders` row); a random suffix keeps restarts apart. */
  nodeName: string;
  /** How long the lead lasts unrenewed: a follower that dies is replaced after at most this. */
  leaderTtlMs: number;
  /** How long a source that does not answer keeps its instances. */
  graceMs: number;
  log: Logger;
}

/** What a follower knows of its source, for metrics and logs. */
export interface SourceStatus {
  name: string;
  type: SourceType;
  /** Whether this process follows the source now (one process at a time does). */
  following: boolean;
  /** Since when the source has not answered, while this process follows it; null: it answers. */
  staleSince: Date | null;
  /** When a delivered set was last written (or found already written), by this process. */
  lastSyncAt: Date | null;
  /** Ids of the last set that were not written, and why. */
  refused: readonly Refusal[];
}

/** A write that failed (the database away) is tried again after this. */
const RETRY_WRITE_MS = 1_000;
/** Reconnecting to a source that failed to answer backs off up to this. */
const MAX_CONNECT_BACKOFF_MS = 30_000;
/** The round runs at least once a minute, whatever the computed wait: a wrong computation cannot stall the follower. */
const MAX_WAIT_MS = 60_000;

/**
 * Follows one source (SWITCHBOARD_SOURCES) into the catalog, in one process at a time across all
 * servers: the holder of the role `source:<name>` in `leaders`, taken and renewed as the alert
 * evaluator's is, and taken over once its holder stops renewing (it died) for the lead's TTL.
 *
 * While it leads, it watches the source's whole catalog; each set delivered is reconciled against
 * the source's rows (reconcile.ts), so a set delivered again (after a restart, a takeover, a
 * reconnect) writes nothing. When the source stops answering (`onStale`, or no answer when it
 * starts following), the instances are kept for the grace period, then removed with the reason; the
 * next set brings them back.
 */
export class SourceFollower {
  readonly holder: string;
  private readonly lease: SourceLease;
  private holding = false;
  /** Counts the times this process took the lead: a watch of an earlier lead delivers nothing. */
  private term = 0;
  private followingSince = 0;
  private watch: Stop | undefined;
  private connecting: Promise<void> | undefined;
  private connectFailures = 0;
  private nextConnectAt = 0;
  private pending: DeliveredInstance[] | undefined;
  /** After a write failed (the database away), the next is not tried before this. */
  private retryAt = 0;
  private staleSince: number | undefined;
  /** The stale source's instances were removed (the grace passed): nothing more to remove until the next set. */
  private withdrawn = false;
  private lastSyncAt: number | undefined;
  private refused: Refusal[] = [];
  /** The last set written, while some of its ids collide: written again now and then, to take an id once its holder is gone. */
  private colliding: DeliveredInstance[] | undefined;
  private nextRenewAt = 0;
  private stopping = false;
  private readonly loop = new WakeLoop({ round: () => this.round(), waitMs: () => this.waitMs() });

  constructor(
    private readonly db: Db,
    readonly config: SourceConfig,
    private readonly backend: CatalogSource,
    private readonly options: SourceFollowerOptions,
  ) {
    this.holder = `${options.nodeName}/${randomBytes(3).toString('hex')}`;
    this.lease = { source: config.name, role: sourceRole(config.name), holder: this.holder };
  }

  get status(): SourceStatus {
    return {
      name: this.config.name,
      type: this.config.type,
      following: this.holding,
      staleSince: this.holding && this.staleSince !== undefined ? new Date(this.staleSince) : null,
      lastSyncAt: this.lastSyncAt === undefined ? null : new Date(this.lastSyncAt),
      refused: this.refused,
    };
  }

  start(): void {
    this.loop.start();
  }

  /**
   * Stops following and hands the lead over: the role lapses now, not a TTL later, so another server
   * takes it at its next renewal (the backend stays open: its opener closes it).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop.stop();
    await this.connecting;
    await this.stopWatching();
    if (this.holding) {
      this.holding = false;
      await lapseLeadership(this.db, this.lease.role, this.holder).catch((error: unknown) =>
        this.options.log.warn({ err: toError(error) }, 'could not hand over the source'),
      );
    }
  }

  private wake(): void {
    this.loop.wake();
  }

  /** Until the next renewal, connection attempt, write retry or end of the grace period, whichever is first. */
  private waitMs(): number {
    const due = [this.nextRenewAt];
    if (this.holding && !this.watch && !this.connecting) due.push(this.nextConnectAt);
    if (this.holding && this.pending) due.push(this.retryAt);
    if (this.holding && this.colliding && this.staleSince === undefined && this.lastSyncAt !== undefined) due.push(this.lastSyncAt + this.options.leaderTtlMs);
    if (this.holding && this.staleSince !== undefined && !this.withdrawn) due.push(Math.max(this.staleSince + this.options.graceMs, this.retryAt));
    return Math.min(Math.max(Math.min(...due) - Date.now(), 5), MAX_WAIT_MS);
  }

  private async round(): Promise<void> {
    try {
      await this.renewIfDue();
      if (!this.holding) return;
      if (!this.watch && !this.connecting && Date.now() >= this.nextConnectAt) this.startConnecting();
      if (Date.now() < this.retryAt) return;
      // Not while stale: the set may be gone from the source by now.
      if (!this.pending && this.colliding && this.staleSince === undefined && Date.now() >= this.lastSyncAt! + this.options.leaderTtlMs) {
        this.pending = this.colliding;
      }
      if (this.pending) await this.write();
      if (this.staleSince !== undefined && !this.withdrawn && Date.now() >= this.staleSince + this.options.graceMs) await this.withdraw();
    } catch (error) {
      if (error instanceof SourceLeadershipLost) return this.lost();
      this.options.log.warn({ err: toError(error) }, 'following the source failed; retrying');
      this.retryAt = Date.now() + RETRY_WRITE_MS;
    }
  }

  private async renewIfDue(): Promise<void> {
    if (Date.now() < this.nextRenewAt) return;
    this.nextRenewAt = Date.now() + this.options.leaderTtlMs / 3;
    let holding = false;
    try {
      holding = await acquireLeadership(this.db, this.lease.role, this.holder, this.options.leaderTtlMs);
    } finally {
      // A renewal that failed (the database away) counts as lost: another process may take over once it lapses.
      if (holding && !this.holding) this.gained();
      else if (!holding && this.holding) await this.lost();
    }
  }

  private gained(): void {
    this.holding = true;
    this.term += 1;
    this.followingSince = Date.now();
    this.connectFailures = 0;
    this.nextConnectAt = 0;
    this.options.log.info({ holder: this.holder }, 'took the lead of the source: following it');
  }

  private async lost(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    this.nextRenewAt = 0;
    this.options.log.info({ holder: this.holder }, 'lost the lead of the source: no longer following it');
    await this.stopWatching();
  }

  private async stopWatching(): Promise<void> {
    const stop = this.watch;
    this.watch = undefined;
    this.pending = undefined;
    this.staleSince = undefined;
    this.withdrawn = false;
    this.refused = [];
    this.lastSyncAt = undefined;
    this.colliding = undefined;
    await stop?.().catch((error: unknown) => this.options.log.warn({ err: toError(error) }, 'could not stop watching the source'));
  }

  /** Connects in the background: a source slow to answer must not hold up the renewals. */
  private startConnecting(): void {
    const attempt = this.connect(this.term).finally(() => {
      if (this.connecting === attempt) this.connecting = undefined;
      this.wake();
    });
    this.connecting = attempt;
  }

  private async connect(term: number): Promise<void> {
    try {
      const stop = await this.backend.watchCatalog((instances) => this.delivered(term, instances), { onStale: (error) => this.stale(term, error) });
      if (term !== this.term || !this.holding || this.stopping) {
        await stop();
        return;
      }
      this.watch = stop;
      this.connectFailures = 0;
    } catch (error) {
      if (term !== this.term) return;
      this.connectFailures += 1;
      this.nextConnectAt = Date.now() + Math.min(1_000 * 2 ** (this.connectFailures - 1), MAX_CONNECT_BACKOFF_MS);
      // Not reachable since this process began to follow it: the grace counts from then.
      this.markStale(error, this.followingSince);
    }
  }

  private delivered(term: number, instances: DeliveredInstance[]): void {
    if (term !== this.term || !this.holding) return;
    if (this.staleSince !== undefined) this.options.log.info({ instances: instances.length }, 'the source answers again');
    this.pending = instances;
    this.staleSince = undefined;
    this.withdrawn = false;
    this.wake();
  }

  private stale(term: number, error: unknown): void {
    if (term !== this.term || !this.holding) return;
    this.markStale(error, Date.now());
    this.wake();
  }

  private markStale(error: unknown, since: number): void {
    if (this.staleSince !== undefined) return;
    this.staleSince = since;
    this.withdrawn = false;
    this.options.log.warn(
      { err: toError(error), graceMs: this.options.graceMs },
      `the source does not answer: its instances are kept for ${formatDuration(this.options.graceMs)}, then removed`,
    );
  }

  private async write(): Promise<void> {
    const instances = this.pending!;
    const { wanted, refused } = wantedInstances(instances);
    const result = await reconcileSource(this.db, this.lease, wanted);
    // A newer set may have come while this one was written: it is written next.
    if (this.pending === instances) this.pending = undefined;
    this.lastSyncAt = Date.now();
    this.noteRefusals([...refused, ...result.collisions]);
    this.colliding = result.collisions.length > 0 ? instances : undefined;
    if (result.events > 0) {
      const { created, updated, removed } = result;
      this.options.log.info({ created, updated, removed, instances: result.instances }, 'wrote the source’s changes');
    }
  }

  /** Logs each refusal once, when it first appears (a set delivered every few seconds must not repeat them all). */
  private noteRefusals(refused: Refusal[]): void {
    const before = new Set(this.refused.map((refusal) => `${refusal.id}\n${refusal.reason}`));
    for (const refusal of refused) {
      if (!before.has(`${refusal.id}\n${refusal.reason}`))
        this.options.log.warn({ id: refusal.id, kind: refusal.kind }, `refused an instance of the source: ${refusal.reason}`);
    }
    this.refused = refused;
  }

  private async withdraw(): Promise<void> {
    const detail = `source ${this.config.name} unreachable for ${formatDuration(this.options.graceMs)}`;
    const removed = await removeSourceInstances(this.db, this.lease, 'connection-lost', detail);
    // Unless the source answered meanwhile: its set, written next, brings the instances back.
    if (this.staleSince !== undefined) this.withdrawn = true;
    if (removed > 0) this.options.log.warn({ removed }, `removed the source's instances: ${detail}`);
  }
}
