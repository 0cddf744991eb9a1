import type { CircuitStateValue } from '@switchboard/contracts';

export type CircuitState = CircuitStateValue;

export interface BreakerConfig {
  /** Length of the rolling window the failure rate is measured over. */
  windowMs: number;
  /** Fewer calls than this in the window never open the circuit. */
  minCalls: number;
  /** Failure share (0..1) in the window at which the circuit opens. */
  failureRatio: number;
  /** How long an open circuit stays open before letting probes through. */
  cooldownMs: number;
  /** Selections let through while half-open (per cooldown). */
  halfOpenProbes: number;
  /** A call at least this slow counts as a failure (unset: latency is not judged). */
  slowCallMs: number | undefined;
}

/** The stored state of one breaker; times in epoch milliseconds. */
export interface BreakerState {
  state: CircuitState;
  windowStart: number;
  calls: number;
  failures: number;
  previousCalls: number;
  previousFailures: number;
  openedAt: number | null;
  probesGranted: number;
  lastProbeAt: number | null;
}

export interface Outcome {
  success: boolean;
  latencyMs?: number | null | undefined;
  at: number;
}

export type Transition = 'OPENED' | 'HALF_OPENED' | 'CLOSED';

export function closedBreaker(now: number): BreakerState {
  return {
    state: 'CLOSED',
    windowStart: now,
    calls: 0,
    failures: 0,
    previousCalls: 0,
    previousFailures: 0,
    openedAt: null,
    probesGranted: 0,
    lastProbeAt: null,
  };
}

/**
 * The state as of `now`: an open circuit whose cooldown has passed is half-open,
 * whether or not anyone has written that down yet (every server computes the same).
 */
export function effectiveState(breaker: BreakerState, now: number, config: BreakerConfig): CircuitState {
  if (breaker.state === 'OPEN' && breaker.openedAt !== null && now - breaker.openedAt >= config.cooldownMs) return 'HALF_OPEN';
  return breaker.state;
}

/** Moves the two buckets forward so `now` falls in the current one. */
export function rollWindow(breaker: BreakerState, now: number, config: BreakerConfig): BreakerState {
  const elapsed = now - breaker.windowStart;
  if (elapsed < config.windowMs) return breaker;
  const oneBack = elapsed < 2 * config.windowMs;
  return {
    ...breaker,
    windowStart: breaker.windowStart + Math.floor(elapsed / config.windowMs) * config.windowMs,
    previousCalls: oneBack ? breaker.calls : 0,
    previousFailures: oneBack ? breaker.failures : 0,
    calls: 0,
    failures: 0,
  };
}

/**
 * Calls and failures over the last window: the current bucket, plus the previous
 * one weighted by how much of it the window still overlaps (a sliding window in
 * constant space).
 */
export function windowCounts(breaker: BreakerState, now: number, config: BreakerConfig): { calls: number; failures: number } {
  const rolled = rollWindow(breaker, now, config);
  const overlap = Math.max(0, 1 - (now - rolled.windowStart) / config.windowMs);
  return {
    calls: rolled.calls + rolled.previousCalls * overlap,
    failures: rolled.failures + rolled.previousFailures * overlap,
  };
}

/**
 * Applies one reported call outcome.
 * - CLOSED: counts it; opens once the window holds at least `minCalls` calls of
 *   which at least `failureRatio` failed.
 * - OPEN (cooling down): outcomes of calls made anyway change nothing.
 * - HALF_OPEN: a success closes the circuit (with a fresh window), a failure opens
 *   it again for another cooldown.
 */
export function applyOutcome(breaker: BreakerState, outcome: Outcome, config: BreakerConfig): { breaker: BreakerState; transition?: Transition } {
  const failed = !outcome.success || (config.slowCallMs !== undefined && (outcome.latencyMs ?? 0) >= config.slowCallMs);
  const state = effectiveState(breaker, outcome.at, config);
  if (state === 'OPEN') return { breaker };
  if (state === 'HALF_OPEN') {
    if (failed) return { breaker: open(breaker, outcome.at), transition: 'OPENED' };
    return { breaker: closedBreaker(outcome.at), transition: 'CLOSED' };
  }
  const rolled = rollWindow(breaker, outcome.at, config);
  const counted = { ...rolled, calls: rolled.calls + 1, failures: rolled.failures + (failed ? 1 : 0) };
  const { calls, failures } = windowCounts(counted, outcome.at, config);
  if (calls >= config.minCalls && failures / calls >= config.failureRatio) return { breaker: open(counted, outcome.at), transition: 'OPENED' };
  return { breaker: counted };
}

/**
 * Writes down a cooldown that has passed: an OPEN breaker whose cooldown is over
 * becomes HALF_OPEN with a fresh probe budget. Undefined when it is not due.
 */
export function enterHalfOpen(breaker: BreakerState, now: number, config: BreakerConfig): BreakerState | undefined {
  if (breaker.state !== 'OPEN' || effectiveState(breaker, now, config) !== 'HALF_OPEN') return undefined;
  return { ...breaker, state: 'HALF_OPEN', probesGranted: 0, lastProbeAt: null };
}

/** One transition of a breaker: the state it left and the breaker it left it for. */
export interface TransitionStep {
  transition: Transition;
  from: CircuitState;
  breaker: BreakerState;
  at: number;
}

/**
 * Applies outcomes in order (one coalesced batch), listing every transition with
 * the state it left. Each step leaves the state the previous one entered, not the
 * state the batch began in: one batch can close a half-open circuit and then open
 * it again. An open circuit whose cooldown passed unrecorded is first written down
 * as HALF_OPEN, so the outcome's own transition leaves HALF_OPEN.
 */
export function applyOutcomesInOrder(
  breaker: BreakerState,
  outcomes: readonly Outcome[],
  config: BreakerConfig,
): { breaker: BreakerState; steps: TransitionStep[] } {
  const steps: TransitionStep[] = [];
  let current = breaker;
  for (const outcome of outcomes) {
    const halfOpen = enterHalfOpen(current, outcome.at, config);
    if (halfOpen) {
      steps.push({ transition: 'HALF_OPENED', from: current.state, breaker: halfOpen, at: outcome.at });
      current = halfOpen;
    }
    const from = current.state;
    const step = applyOutcome(current, outcome, config);
    current = step.breaker;
    if (step.transition) steps.push({ transition: step.transition, from, breaker: current, at: outcome.at });
  }
  return { breaker: current, steps };
}

/**
 * Grants a half-open probe selection if the budget allows: `halfOpenProbes` per
 * cooldown, renewed when the last grant is a cooldown old (a probe whose outcome
 * was never reported must not keep the instance out for good). Undefined: no probe.
 */
export function grantProbe(breaker: BreakerState, now: number, config: BreakerConfig): { breaker: BreakerState; transition?: Transition } | undefined {
  if (effectiveState(breaker, now, config) !== 'HALF_OPEN') return undefined;
  const firstProbe = breaker.state === 'OPEN';
  const renewed = breaker.lastProbeAt !== null && now - breaker.lastProbeAt >= config.cooldownMs;
  const granted = firstProbe || renewed ? 0 : breaker.probesGranted;
  if (granted >= config.halfOpenProbes) return undefined;
  return {
    breaker: { ...breaker, state: 'HALF_OPEN', probesGranted: granted + 1, lastProbeAt: now },
    ...(firstProbe ? { transition: 'HALF_OPENED' as const } : {}),
  };
}

function open(breaker: BreakerState, now: number): BreakerState {
  return { ...breaker, state: 'OPEN', openedAt: now, probesGranted: 0, lastProbeAt: null };
}
