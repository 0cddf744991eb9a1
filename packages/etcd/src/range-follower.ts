import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { Range, type IKeyValue, type IWatchResponse, type Watcher } from 'etcd3';
import type { EtcdCalls } from './calls.js';

/** A key as the follower saw it last. */
export interface FollowedEntry {
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
}

/** One key's change: created (no `before`), updated, or deleted (no `after`). */
export interface FollowedChange {
  key: string;
  before: FollowedEntry | undefined;
  after: FollowedEntry | undefined;
  /** The revision of the change (for one found by reading the range again: of that read, if a deletion). */
  revision: number;
}

export interface FollowerOptions {
  /** Every key under a prefix, or one key. */
  range: { prefix: string } | { key: string };
  /**
   * `mirror` keeps every key in memory and, after a gap (compaction, reconnection), relists them and reports
   * the difference. `tail` keeps nothing: it only reports what is written from now on, and after a gap the
   * keys modified since (an append-only log such as events, whose old keys expire).
   */
  mode: 'mirror' | 'tail';
  /** `current`: a resynchronisation just ended, so what the consumer holds is current again. */
  onChanges(changes: FollowedChange[], current: boolean): void;
  /** etcd stopped answering; the last state stands until the next `onChanges(…, true)`. */
  onStale(error: unknown): void;
  onWarning(message: string): void;
}

/** Relisting after a gap is retried this way, for as long as the follower runs. */
const RELIST_BACKOFF = { initialDelay: 200, maxDelay: 5_000 };
/** Cancelling a watch waits for etcd's answer, but not longer than this (etcd may have just gone). */
const CANCEL_WAIT_MS = 3_000;

/**
 * Follows a key range: a range read, then a watch from the next revision, so nothing between the two is missed.
 *
 * etcd3's watcher reconnects by itself after etcd restarts, resuming from the revision after the last response
 * it saw; but it advances that revision to the server's current one as soon as the watch is re-created, before
 * the catch-up events arrive, so a second disconnection in between would skip them. So after every reconnection
 * the range is read again (events arriving meanwhile wait, and those the read already covers are dropped), which
 * also tells the consumer it is current again. A watch that etcd cancels (its revision was compacted) is
 * replaced: read again, watch from after that read.
 */
export class RangeFollower {
  private readonly entries = new Map<string, FollowedEntry>();
  /** Every change up to this revision has been applied. */
  private revision = 0;
  private watcher: Watcher | undefined;
  /** Watch responses that arrived while the range was being read again. */
  private held: IWatchResponse[] | undefined;
  private relisting: Promise<void> | undefined;
  private stale = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly bounds: Range;

  constructor(
    private readonly calls: EtcdCalls,
    private readonly options: FollowerOptions,
  ) {
    this.bounds = 'prefix' in options.range ? Range.prefix(options.range.prefix) : new Range(options.range.key, Buffer.from(`${options.range.key}\0`));
  }

  /** Reads the range (throws as any call does when etcd cannot be had), then watches from there on. */
  async start(): Promise<void> {
    const listed = await this.list();
    if (this.options.mode === 'mirror') for (const entry of listed.entries) this.entries.set(entry.key, entry);
    this.revision = listed.revision;
    this.watch();
  }

  /** What the range holds now (mirror mode). */
  current(): FollowedEntry[] {
    return [...this.entries.values()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher) await cancel(watcher);
  }

  private watch(): void {
    if (this.stopped) return;
    const builder = this.calls.client
      .watch()
      .inRange(this.bounds)
      .startRevision(String(this.revision + 1));
    // `watcher()` rather than `create()`: listeners are in place before the first event, and the follower
    // does not wait for etcd to accept the watch (it starts from a known revision either way).
    const watcher = builder.watcher();
    this.watcher = watcher;
    let disconnected = false;
    watcher.on('data', (response: IWatchResponse) => {
      if (this.held) this.held.push(response);
      else this.apply([response]);
    });
    watcher.on('disconnected', (error: unknown) => {
      disconnected = true;
      this.markStale(error);
    });
    watcher.on('connected', () => {
      if (!disconnected) return;
      disconnected = false;
      void this.relist();
    });
    // etcd cancelled the watch: its revision was compacted away, or the user may no longer read the range.
    watcher.on('error', (error: unknown) => {
      if (this.watcher !== watcher) return;
      this.watcher = undefined;
      void this.relist().then(() => this.watch());
      if (!/Watcher canceled: $/.test(String((error as Error).message)))
        this.options.onWarning(`etcd cancelled a watch of ${this.describe()}: ${String(error)}`);
    });
  }

  private markStale(error: unknown): void {
    if (this.stale || this.stopped) return;
    this.stale = true;
    this.options.onStale(error);
  }

  /** Reads the range again until it succeeds, then applies the difference and what the watch held meanwhile. */
  private relist(): Promise<void> {
    this.relisting ??= this.readAgain().finally(() => (this.relisting = undefined));
    return this.relisting;
  }

  private async readAgain(): Promise<void> {
    this.held = [];
    try {
      const listed = await retry(handleAll, { maxAttempts: Infinity, backoff: new ExponentialBackoff(RELIST_BACKOFF) }).execute(async () => {
        try {
          return await this.list();
        } catch (error) {
          if (!this.stopped) this.markStale(error);
          throw error;
        }
      }, this.abort.signal);
      const held = this.held;
      this.held = undefined;
      const changes =
        this.options.mode === 'mirror'
          ? this.replace(listed.entries, listed.revision)
          : listed.entries.map((after) => ({ key: after.key, before: undefined, after, revision: after.modRevision }));
      this.revision = Math.max(this.revision, listed.revision);
      this.stale = false;
      this.options.onChanges(changes, true);
      this.apply(held);
    } catch {
      // Stopped while relisting.
      this.held = undefined;
    }
  }

  /** Applies watch responses in order, skipping events a range read already covered. */
  private apply(responses: readonly IWatchResponse[]): void {
    const changes: FollowedChange[] = [];
    for (const response of responses) {
      // The events of one transaction share its revision: each is applied, not only the first.
      const applied = this.revision;
      for (const event of response.events) {
        const revision = Number(event.kv.mod_revision);
        if (revision <= applied) continue;
        this.revision = Math.max(this.revision, revision);
        const key = event.kv.key.toString();
        const before = this.entries.get(key);
        if (event.type === 'Put') {
          const after = entryOf(event.kv);
          if (this.options.mode === 'mirror') this.entries.set(key, after);
          changes.push({ key, before, after, revision });
        } else if (this.options.mode === 'tail' || before) {
          this.entries.delete(key);
          changes.push({ key, before, after: undefined, revision });
        }
      }
    }
    if (changes.length > 0 && !this.stopped) this.options.onChanges(changes, false);
  }

  /** Mirror mode: the listed entries replace the known ones; returns the difference. */
  private replace(listed: readonly FollowedEntry[], revision: number): FollowedChange[] {
    const changes: FollowedChange[] = [];
    const seen = new Set<string>();
    for (const after of listed) {
      seen.add(after.key);
      const before = this.entries.get(after.key);
      if (before?.modRevision !== after.modRevision) changes.push({ key: after.key, before, after, revision: after.modRevision });
      this.entries.set(after.key, after);
    }
    for (const [key, before] of this.entries) {
      if (seen.has(key)) continue;
      this.entries.delete(key);
      changes.push({ key, before, after: undefined, revision });
    }
    return changes;
  }

  /**
   * Mirror: every key in the range. Tail: the first read only learns the revision; later ones the keys
   * modified after the last revision applied (by modification order).
   */
  private async list(): Promise<{ entries: FollowedEntry[]; revision: number }> {
    const tail = this.options.mode === 'tail';
    const response = await this.calls.run(() =>
      this.calls.client.kv.range({
        key: this.bounds.start,
        range_end: this.bounds.end,
        ...(tail && this.revision === 0 ? { count_only: true } : {}),
        ...(tail && this.revision > 0 ? { min_mod_revision: this.revision + 1, sort_target: 'Mod', sort_order: 'Ascend' } : {}),
      }),
    );
    return { entries: response.kvs.map(entryOf), revision: Number(response.header.revision) };
  }

  private describe(): string {
    return 'prefix' in this.options.range ? `the prefix "${this.options.range.prefix}"` : `the key "${this.options.range.key}"`;
  }
}

function entryOf(kv: IKeyValue): FollowedEntry {
  return { key: kv.key.toString(), value: kv.value.toString(), modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) };
}

/** Cancels a watch; when etcd is gone meanwhile, etcd3 finishes the cancellation at its next reconnection attempt. */
async function cancel(watcher: Watcher): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([watcher.cancel().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, CANCEL_WAIT_MS)))]);
  clearTimeout(timer);
  watcher.removeAllListeners();
  // An 'error' emitted after this would otherwise be thrown by the EventEmitter.
  watcher.on('error', () => {});
}
