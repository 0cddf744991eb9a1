import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy, type IBreaker } from 'cockatiel';
import { OutlierDetector, type OutlierOptions } from './outliers.js';

export interface CircuitBreakerOptions {
  /** Counts failures and decides when to open; default cockatiel's ConsecutiveBreaker(5). A SamplingBreaker judges a failure share. */
  breaker?: () => IBreaker;
  /** How long an open breaker stays open before one probe call is let through; default 10s. */
  halfOpenAfterMs?: number;
  /** Which errors count against the instance; default every error. */
  isFailure?: (error: Error) => boolean;
  /** Outlier ejection (Envoy's), next to the breakers; `false` turns it off. */
  outliers?: OutlierOptions | false;
}

/** What one call through an instance's breaker did: fed to outlier ejection and to an outcome listener. */
export interface CallOutcome {
  success: boolean;
  latencyMs: number;
}

interface InstanceBreaker {
  policy: CircuitBreakerPolicy;
  /** When the open breaker lets a probe through; the policy only notices when a call is made. */
  probeAt: number;
}

/**
 * A circuit breaker per instance (cockatiel's), plus outlier ejection, fed by every call made through
 * `execute`. `healthy(instances)` (the seed's GetHealthyServices) leaves out instances that should not be
 * called now: breaker open (and not yet due for a probe), a probe in flight, or ejected as an outlier.
 */
export class CircuitBreakerRegistry {
  private readonly breakers = new Map<string, InstanceBreaker>();
  private readonly outliers: OutlierDetector | undefined;
  private readonly listeners = new Set<(instanceId: string, outcome: CallOutcome) => void>();

  constructor(private readonly options: CircuitBreakerOptions = {}) {
    this.outliers = options.outliers === false ? undefined : new OutlierDetector(options.outliers);
  }

  /** Runs one call to the instance through its breaker, and records how it went. Rejects with BrokenCircuitError when open. */
  async execute<T>(instanceId: string, call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const breaker = this.breaker(instanceId);
    const started = performance.now();
    let success: boolean | undefined;
    try {
      const result = await breaker.policy.execute(({ signal: callSignal }) => call(callSignal), signal);
      success = true;
      return result;
    } catch (error) {
      // A call the open breaker refused never reached the instance, and an error that does not count
      // (the caller gave up) says nothing about it: only the others are outcomes.
      if (!(error instanceof BrokenCircuitError) && this.counts(error)) success = false;
      throw error;
    } finally {
      if (success !== undefined) this.record(instanceId, { success, latencyMs: performance.now() - started });
    }
  }

  /** The instances to call now, in the given order. */
  healthy<T extends { id: string }>(instances: readonly T[]): T[] {
    const now = Date.now();
    for (const { id } of instances) this.outliers?.know(id, now);
    return instances.filter(({ id }) => this.available(id, now));
  }

  /** Known instances not to call now: pass as a picker's `exclude`. */
  unavailable(): Set<string> {
    const now = Date.now();
    return new Set([...this.breakers.keys(), ...(this.outliers?.ejected(now) ?? [])].filter((id) => !this.available(id, now)));
  }

  state(instanceId: string): 'CLOSED' | 'OPEN' | 'HALF_OPEN' {
    const state = this.breakers.get(instanceId)?.policy.state;
    return state === CircuitState.Open || state === CircuitState.Isolated ? 'OPEN' : state === CircuitState.HalfOpen ? 'HALF_OPEN' : 'CLOSED';
  }

  isEjected(instanceId: string): boolean {
    return this.outliers?.isEjected(instanceId) ?? false;
  }

  /** Called after every call made through `execute` (the OutcomeReporter listens here). Returns the unsubscribe. */
  onOutcome(listener: (instanceId: string, outcome: CallOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops the state of instances no longer registered: every one not in `instanceIds`. */
  retain(instanceIds: Iterable<string>): void {
    const keep = new Set(instanceIds);
    for (const id of this.breakers.keys()) if (!keep.has(id)) this.breakers.delete(id);
    this.outliers?.retain(keep);
  }

  /** Drops the state of these instances (they left); a DiscoveryPicker calls it as its service's instances go. */
  forget(instanceIds: Iterable<string>): void {
    for (const id of instanceIds) {
      this.breakers.delete(id);
      this.outliers?.forget(id);
    }
  }

  /** Instances this registry holds state for (a breaker, an outlier record). */
  get size(): number {
    return new Set([...this.breakers.keys(), ...(this.outliers?.ids() ?? [])]).size;
  }

  private available(id: string, now: number): boolean {
    if (this.outliers?.isEjected(id, now)) return false;
    const breaker = this.breakers.get(id);
    if (!breaker) return true;
    const state = breaker.policy.state;
    if (state === CircuitState.HalfOpen || state === CircuitState.Isolated) return false;
    return state !== CircuitState.Open || now >= breaker.probeAt;
  }

  private record(instanceId: string, outcome: CallOutcome): void {
    this.outliers?.record(instanceId, outcome.success);
    for (const listener of this.listeners) listener(instanceId, outcome);
  }

  private counts(error: unknown): boolean {
    return error instanceof Error && (this.options.isFailure?.(error) ?? true);
  }

  private breaker(instanceId: string): InstanceBreaker {
    let breaker = this.breakers.get(instanceId);
    if (!breaker) {
      const halfOpenAfter = this.options.halfOpenAfterMs ?? 10_000;
      const policy = circuitBreaker(
        handleWhen((error) => this.counts(error)),
        { halfOpenAfter, breaker: this.options.breaker?.() ?? new ConsecutiveBreaker(5) },
      );
      const entry: InstanceBreaker = { policy, probeAt: 0 };
      policy.onBreak(() => (entry.probeAt = Date.now() + halfOpenAfter));
      breaker = entry;
      this.breakers.set(instanceId, breaker);
    }
    return breaker;
  }
}
