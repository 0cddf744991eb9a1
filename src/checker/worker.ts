import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { toError } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { evaluate, type ProbeResult } from '../registry/health/model.js';
import type { TargetPolicy } from '../registry/health/policy.js';
import {
  claimDueChecks,
  millisUntilNextDue,
  recordRoutineRuns,
  recordTransitions,
  releaseClaims,
  type ClaimedCheck,
  type RoutineRun,
  type TransitionRun,
} from '../registry/health/runs.js';
import { HealthMetrics } from '../metrics/health.js';
import { ProbeContext, runProbe } from './probes/index.js';

export interface HealthWorkerOptions {
  /** Names this process's claims (diagnostics); a random suffix keeps restarts apart. */
  name: string;
  /** Probes in flight at once, at most. */
  concurrency: number;
  includeScripts: boolean;
  targets: TargetPolicy;
  /** Longest sleep between looks for due checks (new checks from other processes wait at most this). */
  maxIdleMs?: number;
  /** Claim time past a probe's timeout, for writing its result back (default CLAIM_GRACE_MS). */
  claimGraceMs?: number;
  /** How often routine results are written, batched. */
  flushIntervalMs?: number;
  /** Where runs, failures, lag, claims and transitions are counted (the node's registry). */
  metrics?: HealthMetrics;
}

const CLAIM_BATCH = 500;
const CLAIM_GRACE_MS = 2_000;
const MIN_IDLE_MS = 20;

/**
 * The health-check pool of one process. It claims due checks from the shared
 * table, probes them with bounded concurrency (a slow target holds one slot for at
 * most its timeout), and writes results back: routine runs batched into one
 * statement per flush, status changes each in their own transaction with history
 * and an event. No transaction is ever open while a probe runs.
 */
export class HealthWorker {
  readonly id: string;
  readonly metrics: HealthMetrics;
  private readonly probes: ProbeContext;
  private readonly stopping = new AbortController();
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private routine: RoutineRun[] = [];
  private transitions: TransitionRun[] = [];
  /** Checks whose last result is not written yet: not to be run again on stale state. */
  private readonly unflushed = new Set<string>();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly options: HealthWorkerOptions,
  ) {
    this.id = `${options.name}/${randomBytes(3).toString('hex')}`;
    this.probes = new ProbeContext(options.targets);
    this.metrics = options.metrics ?? new HealthMetrics();
    // Every probe in flight listens for the stop signal; thousands is expected, not a leak.
    setMaxListeners(0, this.stopping.signal);
  }

  start(): void {
    this.loop = this.claimLoop();
    this.flushTimer = setInterval(() => void this.flush(), this.options.flushIntervalMs ?? 100);
  }

  /** Stops claiming, cancels probes in flight, writes what is pending and hands back claims. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
    await Promise.allSettled(this.running);
    clearInterval(this.flushTimer);
    await this.flush();
    await releaseClaims(this.db, this.id).catch((error: unknown) => this.log.warn({ err: toError(error) }, 'could not release check claims'));
    this.probes.close();
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const free = this.options.concurrency - this.inFlight;
      let claimed = 0;
      if (free > 0) {
        try {
          const checks = await claimDueChecks(this.db, this.id, {
            limit: Math.min(free, CLAIM_BATCH),
            includeScripts: this.options.includeScripts,
            graceMs: this.options.claimGraceMs ?? CLAIM_GRACE_MS,
          });
          claimed = checks.length;
          this.metrics.claimed(claimed);
          for (const check of checks) this.launch(check);
          if (claimed === Math.min(free, CLAIM_BATCH)) continue; // more may be due right now
        } catch (error) {
          this.log.warn({ err: toError(error) }, 'could not claim health checks; retrying');
        }
      }
      // Nothing (more) due, or no free slot: sleep until the next check falls due (at
      // least a few ms, so checks due together are claimed together), a slot frees, or stop.
      const idleMs = await this.idleTime();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(idleMs, undefined, { signal: this.stopping.signal }).then(resolve, resolve);
      });
      this.wake = undefined;
    }
  }

  private async idleTime(): Promise<number> {
    const maxIdle = this.options.maxIdleMs ?? 1_000;
    if (this.inFlight >= this.options.concurrency) return maxIdle; // a finishing probe wakes the loop
    try {
      const untilDue = await millisUntilNextDue(this.db, this.options.includeScripts);
      return Math.min(Math.max(untilDue ?? maxIdle, MIN_IDLE_MS), maxIdle);
    } catch {
      return maxIdle;
    }
  }

  private launch(check: ClaimedCheck): void {
    // Claimed again before our last result for it was written (a slow flush outlived the
    // claim): running now would evaluate against stale state. Skip this slot.
    if (this.unflushed.has(check.id)) return;
    this.unflushed.add(check.id);
    this.inFlight += 1;
    this.metrics.probeLag(Date.now() - check.dueAtMs);
    const run = runProbe(check, this.probes, this.stopping.signal)
      .then((result) => this.accept(check, result))
      .catch((error: unknown) => this.log.error({ err: toError(error), check: check.id }, 'health probe failed unexpectedly'))
      .finally(() => {
        this.inFlight -= 1;
        this.running.delete(run);
        if (this.inFlight === this.options.concurrency - 1) this.wake?.();
      });
    this.running.add(run);
  }

  private accept(check: ClaimedCheck, result: ProbeResult): void {
    if (this.stopping.signal.aborted) {
      this.unflushed.delete(check.id); // a cancelled probe says nothing about the target
      return;
    }
    this.metrics.probeRun(check.target.kind, result.status === 'PASSING');
    const evaluation = evaluate(check, result);
    const checkedAt = new Date();
    if (evaluation.changed) {
      this.transitions.push({ check, evaluation, result, checkedAt });
    } else {
      this.routine.push({
        id: check.id,
        failed: result.status !== 'PASSING',
        consecutiveSuccesses: evaluation.consecutiveSuccesses,
        consecutiveFailures: evaluation.consecutiveFailures,
        output: result.output,
        checkedAt,
      });
    }
  }

  /** Writes pending results; flushes never overlap. */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const routine = this.routine;
      const transitions = this.transitions;
      this.routine = [];
      this.transitions = [];
      try {
        await recordRoutineRuns(this.db, this.id, routine);
      } catch (error) {
        this.log.warn({ err: toError(error), runs: routine.length }, 'could not record health check runs');
      }
      try {
        this.metrics.transitionsWritten(await recordTransitions(this.db, this.id, transitions));
      } catch (error) {
        this.log.warn({ err: toError(error), transitions: transitions.length }, 'could not record health transitions');
      }
      for (const run of routine) this.unflushed.delete(run.id);
      for (const run of transitions) this.unflushed.delete(run.check.id);
    });
    return this.flushing;
  }
}
