export interface RetryBudgetOptions {
  /** Retries allowed as a share of the requests in the window (Finagle's percentCanRetry); default 0.2. */
  ratio?: number;
  /** Retries allowed per second of the window on top of the share, so a quiet client can still retry; default 10. */
  minPerSecond?: number;
  /** How far back requests and retries count; default 10s. */
  windowMs?: number;
}

/**
 * Bounds retries to a share of the traffic, as Envoy's retry budgets and Finagle's RetryBudget do: when every
 * instance fails, callers see the failures instead of multiplying the load on a sick service. Counts are kept
 * in one-second buckets over the window.
 */
export class RetryBudget {
  private readonly ratio: number;
  private readonly minPerSecond: number;
  private readonly buckets: { second: number; requests: number; retries: number }[];

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2;
    this.minPerSecond = options.minPerSecond ?? 10;
    const seconds = Math.max(1, Math.ceil((options.windowMs ?? 10_000) / 1000));
    this.buckets = Array.from({ length: seconds }, () => ({ second: -1, requests: 0, retries: 0 }));
  }

  /** Counts a first attempt: it earns `ratio` of a retry. */
  request(now = Date.now()): void {
    this.bucket(now).requests += 1;
  }

  /** Whether a retry may be made now. */
  canRetry(now = Date.now()): boolean {
    const { requests, retries } = this.totals(now);
    return retries < requests * this.ratio + this.minPerSecond * this.buckets.length;
  }

  /** Counts a retry made. */
  spend(now = Date.now()): void {
    this.bucket(now).retries += 1;
  }

  /** Requests and retries in the window, for metrics. */
  stats(now = Date.now()): { requests: number; retries: number } {
    return this.totals(now);
  }

  private totals(now: number): { requests: number; retries: number } {
    const second = Math.floor(now / 1000);
    let requests = 0;
    let retries = 0;
    for (const bucket of this.buckets) {
      if (second - bucket.second >= this.buckets.length) continue;
      requests += bucket.requests;
      retries += bucket.retries;
    }
    return { requests, retries };
  }

  private bucket(now: number) {
    const second = Math.floor(now / 1000);
    const bucket = this.buckets[second % this.buckets.length]!;
    if (bucket.second !== second) Object.assign(bucket, { second, requests: 0, retries: 0 });
    return bucket;
  }
}
