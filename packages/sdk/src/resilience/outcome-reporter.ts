import type { SwitchboardClient } from '@switchboard/client';
import { parse } from 'graphql';
import type { CallOutcome, CircuitBreakerRegistry } from './breakers.js';

export interface OutcomeReporterOptions {
  /** The registry's client; outcomes go to its `reportCallOutcome`. */
  client: SwitchboardClient;
  /** Sends at most once per this many milliseconds; default 1s. */
  intervalMs?: number;
  /** Outcomes per request; default 50, under the server's alias limit (SWITCHBOARD_MAX_ALIASES, 100). */
  maxBatch?: number;
  /** Outcomes held while the registry is slow or away; beyond it new ones are dropped. Default 10,000. */
  maxQueued?: number;
}

type BatchDocument = Parameters<SwitchboardClient['request']>[0];

/**
 * Reports call outcomes to the server's circuit breakers, so every client shares one view of an instance.
 * Outcomes are queued per instance and sent at most every `intervalMs`, many in one request (one aliased
 * `reportCallOutcome` per outcome: the server counts each call). A call never waits for its report; when the
 * registry cannot be reached, the batch is dropped and counted, not retried (its breaker window moves on).
 */
export class OutcomeReporter {
  private readonly queue = new Map<string, CallOutcome[]>();
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Sends run one after another; `sending` is true while one does. */
  private chain: Promise<void> = Promise.resolve();
  private sending = false;
  private lastSentAt = 0;
  private readonly documents = new Map<number, BatchDocument>();
  private readonly counts = { reported: 0, sent: 0, dropped: 0, requests: 0 };

  constructor(private readonly options: OutcomeReporterOptions) {}

  /** Reports every call made through the registry; returns the function that stops it. */
  attach(breakers: CircuitBreakerRegistry): () => void {
    return breakers.onOutcome((instanceId, outcome) => this.report(instanceId, outcome));
  }

  report(instanceId: string, outcome: CallOutcome): void {
    this.counts.reported += 1;
    if (this.queued >= (this.options.maxQueued ?? 10_000)) {
      this.counts.dropped += 1;
      return;
    }
    const list = this.queue.get(instanceId);
    if (list) list.push(outcome);
    else this.queue.set(instanceId, [outcome]);
    this.queued += 1;
    this.schedule();
  }

  /** Outcomes reported, delivered to the server, dropped (queue full or registry unreachable), and requests made. */
  stats(): { reported: number; sent: number; dropped: number; requests: number } {
    return { ...this.counts };
  }

  /** Sends everything queued now, and waits for it. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.run();
  }

  /** Stops the timer and sends what is left. */
  async close(): Promise<void> {
    await this.flush();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.sending) return;
    const wait = Math.max(0, this.lastSentAt + (this.options.intervalMs ?? 1000) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, wait);
    // A pending report must not keep the process alive on its own.
    this.timer.unref();
  }

  private run(): Promise<void> {
    this.chain = this.chain.then(() => this.sendQueued());
    return this.chain;
  }

  private async sendQueued(): Promise<void> {
    this.sending = true;
    // Only what is queued now: outcomes of calls ending meanwhile wait for the next interval.
    let due = this.queued;
    try {
      while (due > 0) {
        const batch = this.takeBatch(due);
        due -= batch.length;
        await this.sendBatch(batch);
      }
    } finally {
      this.lastSentAt = Date.now();
      this.sending = false;
      if (this.queued > 0) this.schedule();
    }
  }

  /** Up to maxBatch outcomes, instance by instance, each instance's in the order its calls ended. */
  private takeBatch(limit: number): { instanceId: string; outcome: CallOutcome }[] {
    const batch: { instanceId: string; outcome: CallOutcome }[] = [];
    const room = Math.min(limit, this.options.maxBatch ?? 50);
    for (const [instanceId, outcomes] of this.queue) {
      const taken = outcomes.splice(0, room - batch.length);
      for (const outcome of taken) batch.push({ instanceId, outcome });
      if (outcomes.length === 0) this.queue.delete(instanceId);
      if (batch.length === room) break;
    }
    this.queued -= batch.length;
    return batch;
  }

  /**
   * Sends one batch. The fields of a mutation run one after another, and the first that fails (an instance that
   * is gone: NOT_FOUND) stops the rest, its result being non-null: the outcomes before it were recorded, the ones
   * after it were not. Those are sent again without the instance that failed (whose queued outcomes go too), so
   * one instance that left does not cost the others their reports.
   */
  private async sendBatch(batch: { instanceId: string; outcome: CallOutcome }[]): Promise<void> {
    let rest = batch;
    while (rest.length > 0) {
      const variables: Record<string, unknown> = {};
      rest.forEach(({ instanceId, outcome }, i) => {
        variables[`id${i}`] = instanceId;
        variables[`success${i}`] = outcome.success;
        variables[`latency${i}`] = `${Math.max(0, Math.round(outcome.latencyMs))}ms`;
      });
      this.counts.requests += 1;
      try {
        await this.options.client.request(this.document(rest.length), variables);
        this.counts.sent += rest.length;
        return;
      } catch (error) {
        const failed = refusedOutcome(error, rest.length);
        if (failed === undefined) {
          // Unreachable, or the registry cannot record anything now: the outcomes are lost, counted, and the
          // next batch tries again.
          this.counts.dropped += rest.length;
          return;
        }
        const gone = rest[failed]!.instanceId;
        this.counts.sent += failed;
        const after = rest.slice(failed + 1).filter(({ instanceId }) => instanceId !== gone);
        this.counts.dropped += rest.length - failed - after.length + this.forget(gone);
        rest = after;
      }
    }
  }

  /** Drops the queued outcomes of an instance the registry does not know; returns how many. */
  private forget(instanceId: string): number {
    const queued = this.queue.get(instanceId)?.length ?? 0;
    this.queue.delete(instanceId);
    this.queued -= queued;
    return queued;
  }

  /** `mutation($id0: ID!, ...) { o0: reportCallOutcome(id: $id0, ...) { id } ... }` for `size` outcomes. */
  private document(size: number): BatchDocument {
    let document = this.documents.get(size);
    if (!document) {
      const indexes = Array.from({ length: size }, (_, i) => i);
      const variables = indexes.map((i) => `$id${i}: ID!, $success${i}: Boolean!, $latency${i}: Duration`).join(', ');
      const fields = indexes.map((i) => `o${i}: reportCallOutcome(id: $id${i}, success: $success${i}, latency: $latency${i}) { id }`).join('\n');
      document = parse(`mutation ReportCallOutcomes(${variables}) {\n${fields}\n}`);
      this.documents.set(size, document);
    }
    return document;
  }
}

/** Answers about one outcome, not about the registry: the instance is unknown, or not this client's to report on. */
const REFUSALS = new Set(['NOT_FOUND', 'FORBIDDEN', 'BAD_USER_INPUT']);

/**
 * The index of the outcome the registry refused (its alias `o<i>` is the first error's path), when that is all
 * that went wrong; undefined for anything else (unreachable, unavailable), which says nothing of one outcome.
 * By shape: the error may come from another copy of @switchboard/client.
 */
function refusedOutcome(error: unknown, size: number): number | undefined {
  const errors = (error as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const first = errors[0] as { path?: unknown; extensions?: { code?: unknown } };
  const alias = Array.isArray(first.path) && first.path.length === 1 ? String(first.path[0]) : '';
  const index = /^o(\d+)$/.exec(alias)?.[1];
  if (index === undefined || Number(index) >= size || !REFUSALS.has(String(first.extensions?.code))) return undefined;
  return Number(index);
}
