import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Consul's advice for blocking-query loops ("Rate limit", in its blocking-queries page): proceed at once while
 * changes are rare, and when an answer churns degrade into polling at a steady rate, after a small burst. A
 * token bucket does exactly that: `burst` requests in a row, then one per `intervalMs`.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt = performance.now();

  constructor(
    private readonly burst: number,
    private readonly intervalMs: number,
  ) {
    this.tokens = burst;
  }

  /** Resolves when a request may go (at once while tokens are left); rejects when `signal` aborts the wait. */
  async take(signal: AbortSignal): Promise<void> {
    this.refill();
    if (this.tokens < 1) {
      await sleep((1 - this.tokens) * this.intervalMs, undefined, { signal });
      this.refill();
    }
    this.tokens -= 1;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) / this.intervalMs);
    this.refilledAt = now;
  }
}
