import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyOutcome,
  applyOutcomesInOrder,
  closedBreaker,
  effectiveState,
  enterHalfOpen,
  grantProbe,
  windowCounts,
  type BreakerConfig,
  type BreakerState,
  type Outcome,
} from '../src/registry/breakers/machine.js';

const config: BreakerConfig = { windowMs: 30_000, minCalls: 5, failureRatio: 0.5, cooldownMs: 10_000, halfOpenProbes: 2, slowCallMs: undefined };
const T0 = 1_700_000_000_000;

function run(outcomes: readonly Outcome[], start: BreakerState = closedBreaker(T0), settings = config) {
  let breaker = start;
  const transitions: string[] = [];
  for (const outcome of outcomes) {
    const step = applyOutcome(breaker, outcome, settings);
    breaker = step.breaker;
    if (step.transition) transitions.push(step.transition);
  }
  return { breaker, transitions };
}

const at = (offsetMs: number, success: boolean, latencyMs?: number): Outcome => ({ at: T0 + offsetMs, success, latencyMs });

describe('circuit breaker state machine', () => {
  it('CLOSED stays closed below the minimum number of calls, however many fail', () => {
    const { breaker } = run([at(0, false), at(1, false), at(2, false), at(3, false)]);
    expect(breaker.state).toBe('CLOSED');
  });

  it('CLOSED -> OPEN once the window holds enough calls at the failure ratio', () => {
    const { breaker, transitions } = run([at(0, true), at(1, true), at(2, false), at(3, false), at(4, false)]);
    expect(transitions).toEqual(['OPENED']);
    expect(breaker).toMatchObject({ state: 'OPEN', openedAt: T0 + 4 });
  });

  it('stays closed just under the ratio', () => {
    const { breaker } = run([at(0, true), at(1, true), at(2, true), at(3, false), at(4, false)]); // 40 %
    expect(breaker.state).toBe('CLOSED');
  });

  it('forgets failures older than the window', () => {
    const old = [at(0, false), at(1, false), at(2, false), at(3, false)];
    const { breaker } = run([...old, at(61_000, false)]); // two windows later: only one recent call
    expect(breaker.state).toBe('CLOSED');
    expect(windowCounts(breaker, T0 + 61_000, config)).toEqual({ calls: 1, failures: 1 });
  });

  it('weighs the previous bucket by how much the window still overlaps it', () => {
    const { breaker } = run([at(0, false), at(1, false), at(2, false), at(3, false)]);
    // Halfway into the next bucket, half of the previous bucket's 4 failures still count.
    const counts = windowCounts(breaker, T0 + 45_000, config);
    expect(counts.calls).toBeCloseTo(2, 5);
  });

  it('counts slow calls as failures when a slow-call threshold is set', () => {
    const slow = { ...config, slowCallMs: 500 };
    const { breaker } = run([at(0, true, 900), at(1, true, 800), at(2, true, 700), at(3, true, 10), at(4, true, 600)], closedBreaker(T0), slow);
    expect(breaker.state).toBe('OPEN');
  });

  it('OPEN ignores outcomes while cooling down, then reads as HALF_OPEN', () => {
    const { breaker } = run([at(0, false), at(1, false), at(2, false), at(3, false), at(4, false)]);
    const during = run([at(5_000, true), at(6_000, true)], breaker);
    expect(during.breaker).toEqual(breaker);
    expect(effectiveState(breaker, T0 + 9_999, config)).toBe('OPEN');
    expect(effectiveState(breaker, T0 + 10_004, config)).toBe('HALF_OPEN');
  });

  it('HALF_OPEN grants a limited number of probes per cooldown', () => {
    const { breaker } = run([at(0, false), at(1, false), at(2, false), at(3, false), at(4, false)]);
    const now = T0 + 10_004;
    expect(grantProbe(breaker, T0 + 5_000, config)).toBeUndefined(); // still open
    const first = grantProbe(breaker, now, config)!;
    expect(first.transition).toBe('HALF_OPENED');
    expect(first.breaker).toMatchObject({ state: 'HALF_OPEN', probesGranted: 1 });
    const second = grantProbe(first.breaker, now + 1, config)!;
    expect(second.transition).toBeUndefined();
    expect(grantProbe(second.breaker, now + 2, config)).toBeUndefined(); // budget of 2 spent
    // A probe whose outcome never came back must not keep the instance out for good.
    expect(grantProbe(second.breaker, now + 1 + config.cooldownMs, config)?.breaker.probesGranted).toBe(1);
  });

  it('HALF_OPEN -> CLOSED on success (fresh window), -> OPEN on failure', () => {
    const opened = run([at(0, false), at(1, false), at(2, false), at(3, false), at(4, false)]).breaker;
    const probing = grantProbe(opened, T0 + 10_004, config)!.breaker;
    const closed = applyOutcome(probing, at(10_010, true), config);
    expect(closed.transition).toBe('CLOSED');
    expect(closed.breaker).toMatchObject({ state: 'CLOSED', calls: 0, failures: 0, openedAt: null });

    const reopened = applyOutcome(probing, at(10_010, false), config);
    expect(reopened.transition).toBe('OPENED');
    expect(reopened.breaker).toMatchObject({ state: 'OPEN', openedAt: T0 + 10_010, probesGranted: 0 });
    // Even without a granted probe, an outcome after the cooldown is a probe's outcome.
    expect(applyOutcome(opened, at(10_010, true), config).transition).toBe('CLOSED');
  });
});

describe('transitions as one batch records them', () => {
  const opened = () => run([at(0, false), at(1, false), at(2, false), at(3, false), at(4, false)]).breaker;

  it('an open breaker past its cooldown is written down as HALF_OPEN with a fresh probe budget; nothing else is', () => {
    expect(enterHalfOpen(opened(), T0 + 5_000, config)).toBeUndefined(); // still cooling down
    expect(enterHalfOpen(opened(), T0 + 10_004, config)).toMatchObject({ state: 'HALF_OPEN', probesGranted: 0, lastProbeAt: null, openedAt: T0 + 4 });
    expect(enterHalfOpen(closedBreaker(T0), T0 + 100_000, config)).toBeUndefined();
    const halfOpen = grantProbe(opened(), T0 + 10_004, config)!.breaker;
    expect(enterHalfOpen(halfOpen, T0 + 100_000, config)).toBeUndefined();
  });

  it('a half-open success and then failures in one batch: closed leaves HALF_OPEN, opened leaves CLOSED', () => {
    const probing = grantProbe(opened(), T0 + 10_004, config)!.breaker;
    const batch = [at(10_010, true), at(10_011, false), at(10_012, false), at(10_013, false), at(10_014, false), at(10_015, false)];
    const { steps } = applyOutcomesInOrder(probing, batch, config);
    expect(steps.map((step) => [step.transition, step.from, step.breaker.state])).toEqual([
      ['CLOSED', 'HALF_OPEN', 'CLOSED'],
      ['OPENED', 'CLOSED', 'OPEN'],
    ]);
  });

  it("an outcome after an unrecorded cooldown: OPEN -> HALF_OPEN first, then the outcome's own step", () => {
    const { steps } = applyOutcomesInOrder(opened(), [at(10_010, false)], config);
    expect(steps.map((step) => [step.transition, step.from, step.breaker.state])).toEqual([
      ['HALF_OPENED', 'OPEN', 'HALF_OPEN'],
      ['OPENED', 'HALF_OPEN', 'OPEN'],
    ]);
  });
});

describe('circuit breaker properties', () => {
  const outcomes = fc
    .array(fc.record({ offset: fc.integer({ min: 0, max: 200_000 }), success: fc.boolean(), latency: fc.integer({ min: 0, max: 2_000 }) }), { maxLength: 60 })
    .map((list) => list.sort((a, b) => a.offset - b.offset).map((entry) => at(entry.offset, entry.success, entry.latency)));

  it('only successes never open the circuit', () => {
    fc.assert(fc.property(outcomes, (list) => run(list.map((outcome) => ({ ...outcome, success: true }))).breaker.state === 'CLOSED'));
  });

  it('fewer than minCalls calls in total never open it', () => {
    fc.assert(fc.property(outcomes, (list) => run(list.slice(0, config.minCalls - 1)).breaker.state === 'CLOSED'));
  });

  it('every transition is a legal edge, and window counts never exceed what was reported', () => {
    fc.assert(
      fc.property(outcomes, (list) => {
        let breaker = closedBreaker(T0);
        let reported = 0;
        for (const outcome of list) {
          const before = effectiveState(breaker, outcome.at, config);
          const step = applyOutcome(breaker, outcome, config);
          const after = step.breaker.state;
          reported += 1;
          if (step.transition === 'OPENED' && !(before === 'CLOSED' || before === 'HALF_OPEN')) return false;
          if (step.transition === 'CLOSED' && before !== 'HALF_OPEN') return false;
          if (!step.transition && before !== 'OPEN' && after !== before && !(before === 'HALF_OPEN' && after === 'OPEN')) return false;
          breaker = step.breaker;
          const counts = windowCounts(breaker, outcome.at, config);
          if (counts.calls > reported + 1e-9 || counts.failures > counts.calls + 1e-9) return false;
        }
        return true;
      }),
    );
  });

  it('in any batches of outcomes, each step leaves the state the previous one entered, along a legal edge', () => {
    const legal = new Set(['CLOSED>OPENED', 'HALF_OPEN>OPENED', 'OPEN>HALF_OPENED', 'HALF_OPEN>CLOSED']);
    fc.assert(
      fc.property(outcomes, fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }), (list, sizes) => {
        let breaker = closedBreaker(T0);
        let state = breaker.state;
        let rest = list;
        for (let i = 0; rest.length > 0; i++) {
          const batch = rest.slice(0, sizes[i % sizes.length]);
          rest = rest.slice(batch.length);
          const result = applyOutcomesInOrder(breaker, batch, config);
          for (const step of result.steps) {
            if (step.from !== state || !legal.has(`${step.from}>${step.transition}`)) return false;
            state = step.breaker.state;
          }
          breaker = result.breaker;
          if (breaker.state !== state) return false;
        }
        return true;
      }),
    );
  });

  it('probes granted per cooldown never exceed the budget', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50_000 }), { maxLength: 40 }), (offsets) => {
        let breaker = run([at(0, false), at(1, false), at(2, false), at(3, false), at(4, false)]).breaker;
        const grants: number[] = [];
        for (const offset of [...offsets].sort((a, b) => a - b)) {
          const now = T0 + 4 + config.cooldownMs + offset;
          const granted = grantProbe(breaker, now, config);
          if (granted) {
            breaker = granted.breaker;
            grants.push(now);
          }
        }
        // In any cooldown-long stretch starting at a grant, at most halfOpenProbes grants.
        return grants.every((start) => grants.filter((time) => time >= start && time < start + config.cooldownMs).length <= config.halfOpenProbes);
      }),
    );
  });
});
