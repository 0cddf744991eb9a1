import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { describe } from './errors.js';
import type { ConsulAnswer, ConsulHttp, QueryValue } from './http.js';
import { TokenBucket } from './token-bucket.js';

export interface BlockingQueryOptions<T> {
  http: ConsulHttp;
  path: string;
  query?: Record<string, QueryValue>;
  waitMs: number;
  rate: { burst: number; intervalMs: number };
  /** A 404 is an answer (a key not there yet), read like any other. */
  notFoundIsAnswer?: boolean;
  /** The answer as data. Throwing means the answer is malformed: it is warned of and skipped, the last data stands. */
  read: (answer: ConsulAnswer) => T;
  /** Called with the first answer, then with every answer whose data differs from the last delivered. */
  onChange: (value: T) => void;
  /** The query failed: called once, until an answer comes again (which is then delivered, changed or not). */
  onStale?: (error: unknown) => void;
  warn: (message: string) => void;
  /** What makes two answers the same data (default: their JSON). */
  fingerprint?: (value: T) => string;
}

/** After a failure, up to 30 s between attempts: never a hot loop against a server that is down or refusing. */
const FAILURE_BACKOFF = new ExponentialBackoff({ initialDelay: 250, maxDelay: 30_000 });

/** Beyond `wait`: Consul adds up to wait/16 of jitter, and the answer has to travel. */
const waitTimeout = (waitMs: number) => waitMs + waitMs / 16 + 5_000;

/**
 * One Consul blocking query, followed until stopped: `?index=<last X-Consul-Index>&wait=`, again and again,
 * with the rules of Consul's blocking-queries page:
 *
 * - the index going backwards (a snapshot restored, the newest key of a listing deleted) resets it to 0,
 *   which reads afresh without blocking;
 * - an index of 0 (or none) is never sent back as such, which would not block: 1 is, which always does;
 * - the loop is rate limited (a token bucket, spent only by answers that brought no new data), and backs off
 *   exponentially after a failure, after which it reads afresh without blocking.
 *
 * An answer is delivered only when its data changed: a blocking query may return on a timeout or an
 * idempotent write. `stop()` aborts the request held on the server.
 */
export class BlockingQuery<T> {
  private index = 0;
  private delivered: string | undefined;
  private stale = false;
  private readonly stopping = new AbortController();
  private readonly bucket: TokenBucket;
  private loop: Promise<void> | undefined;
  private firstRound: (() => void) | undefined;
  /** The last answer brought new data: the next request goes at once, without a token. */
  private changed = false;

  constructor(private readonly options: BlockingQueryOptions<T>) {
    this.bucket = new TokenBucket(options.rate.burst, options.rate.intervalMs);
  }

  /** Reads once (a failure, or a malformed answer, throws as a plain read would), delivers it, then follows the changes. */
  async start(): Promise<void> {
    const answer = await this.fetch();
    this.index = Math.max(answer.index ?? 0, 1);
    this.deliver(this.options.read(answer), true);
    this.loop = this.follow();
  }

  /**
   * Follows from scratch without throwing: resolves once the first answer was delivered, or its failure
   * reported to `onStale` (the loop then tries again, as after any failure).
   */
  startFollowing(): Promise<void> {
    return new Promise((resolve) => {
      this.firstRound = resolve;
      this.loop = this.follow();
    });
  }

  /** Aborts the request held on the server; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async follow(): Promise<void> {
    const signal = this.stopping.signal;
    let backoff: IBackoff<unknown> | undefined;
    while (!signal.aborted) {
      try {
        // Only answers that brought nothing new spend tokens: a change is delivered at once however many came
        // before it (blocking queries answer no faster than the data changes), while a loop that churns
        // without news (an index moving for other data, a reset) degrades into polling.
        if (!this.changed) await this.bucket.take(signal);
        const answer = await this.fetch();
        backoff = undefined;
        const recovered = this.stale;
        this.stale = false;
        this.accept(answer, recovered);
      } catch (error) {
        if (signal.aborted) break;
        if (!this.stale) {
          this.stale = true;
          this.options.onStale?.(error);
        }
        // The next attempt reads without blocking: when the server is back, the set comes at once (current
        // again), rather than after the next change or a whole wait.
        this.index = 0;
        this.endFirstRound();
        backoff = (backoff ?? FAILURE_BACKOFF).next(undefined);
        await sleep(backoff.duration, undefined, { signal }).catch(() => {});
        continue;
      }
      this.endFirstRound();
    }
    this.endFirstRound();
  }

  private endFirstRound(): void {
    this.firstRound?.();
    this.firstRound = undefined;
  }

  private fetch(): Promise<ConsulAnswer> {
    const { http, path, query, waitMs, notFoundIsAnswer } = this.options;
    const blocking = this.index > 0;
    return http.request({
      method: 'GET',
      path,
      query: { ...query, ...(blocking ? { index: this.index, wait: `${waitMs}ms` } : {}) },
      signal: this.stopping.signal,
      ...(blocking ? { timeoutMs: waitTimeout(waitMs) } : {}),
      notFoundIsAnswer,
    });
  }

  private accept(answer: ConsulAnswer, force: boolean): void {
    this.changed = false;
    const next = answer.index ?? 0;
    // 0 (or none) is Consul's bug, not a reset: block on 1. Any other index below the last one is a reset.
    this.index = next === 0 ? 1 : next < this.index ? 0 : next;
    let value: T;
    try {
      value = this.options.read(answer);
    } catch (error) {
      this.options.warn(`skipped a malformed answer to GET ${this.options.path}: ${describe(error)}`);
      return;
    }
    this.deliver(value, force);
  }

  private deliver(value: T, force: boolean): void {
    const print = (this.options.fingerprint ?? JSON.stringify)(value);
    if (!force && print === this.delivered) return;
    this.changed = print !== this.delivered;
    this.delivered = print;
    try {
      this.options.onChange(value);
    } catch (error) {
      // The listener's fault, not the backend's: the watch goes on.
      this.options.warn(`a listener of GET ${this.options.path} threw: ${describe(error)}`);
    }
  }
}
