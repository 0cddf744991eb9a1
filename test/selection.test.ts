import { describe, expect, it } from 'vitest';
import {
  CircuitBreakerDocument,
  RegisterHealthCheckDocument,
  ReportCallOutcomeDocument,
  SelectInstanceExplainedDocument,
  SetMaintenanceDocument,
  UpdateWeightDocument,
  type LoadBalancingStrategy,
} from '@switchboard/client';
import { connectDatabase } from '../src/db/client.js';
import { OutcomeReporter } from '../src/registry/breakers/index.js';
import { errorCode } from './support/client.js';
import { useRegistryNode } from './support/nodes.js';
import { eventually } from './support/wait.js';
import { picks as selectMany, registerInstances, shares } from './support/selection.js';
import { SYSTEM_PRINCIPAL } from '../src/registry/access/index.js';

// A short cooldown so half-open comes within a test.
const registry = useRegistryNode({ SWITCHBOARD_BREAKER_COOLDOWN: '1s', SWITCHBOARD_BREAKER_MIN_CALLS: '5' });

let serial = 0;
function service(instances: { weight?: number; priority?: number; tags?: string[]; version?: string }[]) {
  serial += 1;
  return registerInstances(registry.client, `lb-${serial}`, instances);
}

const picks = (name: string, count: number, strategy: LoadBalancingStrategy, keyOf?: (i: number) => string) =>
  selectMany(registry.node.url, name, count, strategy, keyOf);

const explain = (name: string, strategy?: LoadBalancingStrategy, extra: { tags?: string[]; version?: string; hashKey?: string; allowWarning?: boolean } = {}) =>
  registry.client.request(SelectInstanceExplainedDocument, { service: name, strategy, ...extra }).then((result) => result.selectInstanceExplained);

const fail = (id: string, times: number) =>
  Promise.all(Array.from({ length: times }, () => registry.client.request(ReportCallOutcomeDocument, { id, success: false })));

describe('strategies', () => {
  it('WEIGHTED: 3,000 picks over weights 1:2:7 land within 3 points of 10/20/70 %', async () => {
    const { name, ids } = await service([{ weight: 1 }, { weight: 2 }, { weight: 7 }]);
    const observed = shares(ids, await picks(name, 3000, 'WEIGHTED'));
    [0.1, 0.2, 0.7].forEach((expected, i) => expect(Math.abs(observed[i]! - expected), `instance ${i}: ${observed[i]}`).toBeLessThanOrEqual(0.03));
  });

  it('ROUND_ROBIN: 300 picks over three instances are within 10 % of even', async () => {
    const { name, ids } = await service([{}, {}, {}]);
    const picked = await picks(name, 300, 'ROUND_ROBIN');
    for (const id of ids) {
      const count = picked.filter((entry) => entry === id).length;
      expect(Math.abs(count - 100), `${id}: ${count}`).toBeLessThanOrEqual(10);
    }
  });

  it('RANDOM spreads evenly; weight 0 drains an instance', async () => {
    const { name, ids } = await service([{ weight: 1 }, { weight: 5 }, { weight: 0 }]);
    const observed = shares(ids, await picks(name, 1000, 'RANDOM'));
    expect(observed[2]).toBe(0);
    expect(Math.abs(observed[0]! - 0.5)).toBeLessThan(0.07);
  });

  it('all weights 0: chosen evenly (the fallback)', async () => {
    const { name, ids } = await service([{ weight: 0 }, { weight: 0 }]);
    const observed = shares(ids, await picks(name, 1000, 'WEIGHTED'));
    expect(Math.abs(observed[0]! - 0.5)).toBeLessThan(0.07);
  });

  it('PRIORITY: only the most preferred tier, failing over when it is critical', async () => {
    const { name, ids } = await service([{ priority: 0 }, { priority: 0 }, { priority: 1, weight: 3 }, { priority: 1, weight: 1 }, { priority: 2 }]);
    expect(new Set(await picks(name, 200, 'PRIORITY'))).toEqual(new Set([ids[0], ids[1]]));

    // Both of tier 0 critical (a TTL check starts critical): tier 1 takes over, weighted 3:1.
    for (const id of [ids[0]!, ids[1]!]) await registry.client.request(RegisterHealthCheckDocument, { serviceId: id, check: { ttl: '1h' } });
    const failover = await picks(name, 2000, 'PRIORITY');
    expect(new Set(failover)).toEqual(new Set([ids[2], ids[3]]));
    expect(Math.abs(shares(ids, failover)[2]! - 0.75)).toBeLessThanOrEqual(0.03);

    // The explanation says why tier 0 is out and tier 2 not in the running.
    const explained = await explain(name, 'PRIORITY');
    expect(explained.tier).toBe(1);
    const reasons = Object.fromEntries(explained.candidates.map((candidate) => [candidate.instance.id, candidate.exclusions]));
    expect(reasons).toEqual({ [ids[0]!]: ['CRITICAL'], [ids[1]!]: ['CRITICAL'], [ids[2]!]: [], [ids[3]!]: [], [ids[4]!]: ['LOWER_PRIORITY_TIER'] });
  });

  it("PRIORITY: failing over when the first tier's breakers are open", async () => {
    const { name, ids } = await service([{ priority: 0 }, { priority: 5 }]);
    await fail(ids[0]!, 5);
    // Well inside the 1 s cooldown, so no half-open probe is due yet.
    expect(new Set(await picks(name, 100, 'PRIORITY'))).toEqual(new Set([ids[1]]));
    expect((await explain(name, 'PRIORITY')).candidates[0]!.exclusions).toEqual(['CIRCUIT_OPEN']);
  });

  it('CONSISTENT_HASH: the same key maps to the same instance; removing one moves only its keys', async () => {
    const { name, ids } = await service([{}, {}, {}, {}, {}]);
    const keys = (i: number) => `user-${i}`;
    const first = await picks(name, 1000, 'CONSISTENT_HASH', keys);
    expect(await picks(name, 1000, 'CONSISTENT_HASH', keys)).toEqual(first);
    for (const share of shares(ids, first)) expect(share).toBeGreaterThan(0.12); // roughly a fifth each

    await registry.client.request(SetMaintenanceDocument, { id: ids[2]!, enabled: true });
    const after = await picks(name, 1000, 'CONSISTENT_HASH', keys);
    const moved = first.filter((id, i) => id !== ids[2] && after[i] !== id).length;
    expect(moved).toBe(0); // rendezvous hashing: keys of the other instances stay put
    expect(after.includes(ids[2]!)).toBe(false);
  });
});

describe('explanations and edge cases', () => {
  it('lists every candidate with why it was excluded', async () => {
    const { name, ids } = await service([
      { tags: ['eu'], version: '1.0.0' },
      { tags: ['us'], version: '1.0.0' },
      { tags: ['eu'], version: '2.0.0' },
      { tags: ['eu'], version: '1.2.0', weight: 0 },
      { tags: ['eu'], version: '1.5.0' },
    ]);
    await registry.client.request(SetMaintenanceDocument, { id: ids[4]!, enabled: true, reason: 'upgrade' });
    const explained = await explain(name, 'WEIGHTED', { tags: ['eu'], version: '^1' });
    expect(explained.selected?.id).toBe(ids[0]);
    expect(explained.candidates.map((candidate) => [candidate.instance.id, candidate.eligible, candidate.share, candidate.exclusions])).toEqual([
      [ids[0], true, 1, []],
      [ids[1], false, null, ['TAG_MISMATCH']],
      [ids[2], false, null, ['VERSION_MISMATCH']],
      [ids[3], false, null, ['DRAINED']],
      [ids[4], false, null, ['MAINTENANCE']],
    ]);
  });

  it('nothing available, an empty or unknown service: null with a reason, not an error', async () => {
    expect(await explain('no-such-service')).toMatchObject({ selected: null, reason: 'No instance of "no-such-service" is registered.', candidates: [] });
    const { name, ids } = await service([{}, {}]);
    await fail(ids[0]!, 5);
    await fail(ids[1]!, 5);
    const explained = await explain(name, 'RANDOM');
    expect(explained.selected).toBeNull();
    expect(explained.reason).toContain('None of the 2 instance(s)');
    expect(explained.candidates.every((candidate) => candidate.exclusions.includes('CIRCUIT_OPEN'))).toBe(true);
  });

  it('refuses CONSISTENT_HASH without a key, and a bad version range', async () => {
    expect(await errorCode(explain('anything', 'CONSISTENT_HASH'))).toBe('BAD_USER_INPUT');
    expect(await errorCode(explain('anything', 'RANDOM', { version: 'not a range!' }))).toBe('BAD_USER_INPUT');
  });

  it('updateWeight changes the spread at once and is NOT_FOUND for an unknown id', async () => {
    const { name, ids } = await service([{ weight: 1 }, { weight: 1 }]);
    await registry.client.request(UpdateWeightDocument, { id: ids[1]!, weight: 0 });
    expect(new Set(await picks(name, 100, 'WEIGHTED'))).toEqual(new Set([ids[0]]));
    expect(await errorCode(registry.client.request(UpdateWeightDocument, { id: 'nope', weight: 1 }))).toBe('NOT_FOUND');
    expect(await errorCode(registry.client.request(UpdateWeightDocument, { id: ids[0]!, weight: -1 }))).toBe('BAD_USER_INPUT');
  });
});

describe('circuit breakers', () => {
  it('open, half-open with one probe, close on success', async () => {
    const { name, ids } = await service([{}, {}]);
    const [target, other] = ids as [string, string];
    await registry.client.request(ReportCallOutcomeDocument, { id: target, success: true });
    const opened = await fail(target, 5);
    expect(opened.at(-1)!.reportCallOutcome.circuitBreaker).toMatchObject({ state: 'OPEN' });
    expect(new Set(await picks(name, 50, 'RANDOM'))).toEqual(new Set([other]));

    // The cooldown passes: the breaker reads HALF_OPEN (reading it takes no probe).
    const state = async () => (await registry.client.request(CircuitBreakerDocument, { id: target })).service!.circuitBreaker.state;
    await eventually(async () => ((await state()) === 'HALF_OPEN' ? true : undefined), 10_000);
    expect(await state()).toBe('HALF_OPEN');
    // Exactly one selection is let through as the probe.
    const probing = await picks(name, 100, 'ROUND_ROBIN');
    expect(probing.filter((id) => id === target)).toHaveLength(1);

    const closed = await registry.client.request(ReportCallOutcomeDocument, { id: target, success: true });
    expect(closed.reportCallOutcome.circuitBreaker).toMatchObject({ state: 'CLOSED', failures: 0 });
    expect(new Set(await picks(name, 50, 'ROUND_ROBIN'))).toEqual(new Set([target, other]));
  });

  it('unknown instance: NOT_FOUND', async () => {
    expect(await errorCode(registry.client.request(ReportCallOutcomeDocument, { id: 'ghost', success: false }))).toBe('NOT_FOUND');
  });

  it('thousands of concurrent reports become a handful of transactions', async () => {
    const { ids } = await service([{}, {}, {}]);
    let batches = 0;
    const database = connectDatabase(registry.database.url, {
      onQuery: (query) => {
        if (query.startsWith('insert into "circuit_breakers"')) batches += 1;
      },
    });
    try {
      const reporter = new OutcomeReporter(database.db, {
        windowMs: 30_000,
        minCalls: 1_000_000,
        failureRatio: 0.5,
        cooldownMs: 1_000,
        halfOpenProbes: 1,
        slowCallMs: undefined,
      });
      await Promise.all(Array.from({ length: 3000 }, (_, i) => reporter.report(ids[i % 3]!, { success: i % 2 === 0 }, SYSTEM_PRINCIPAL)));
      expect(batches).toBeGreaterThan(0);
      expect(batches).toBeLessThan(50);
      const [row] = await registry.database.sql<
        { calls: number }[]
      >`select sum(calls)::int as calls from circuit_breakers where service_id in ${registry.database.sql(ids)}`;
      expect(row!.calls).toBe(3000);
    } finally {
      await database.close();
    }
  });
});
