import { describe, expect, it } from 'vitest';
import {
  CircuitBreakerDocument,
  HealthCheckDocument,
  HeartbeatDocument,
  InstanceHealthDocument,
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  ReportCallOutcomeDocument,
  SelectInstanceExplainedDocument,
  ServiceDocument,
  SetMaintenanceDocument,
  UnregisterServiceDocument,
  UpdateTtlCheckDocument,
  UpdateWeightDocument,
  type SwitchboardClient,
} from '@switchboard/client';
import { instance } from './support/client.js';
import { eventually } from './support/wait.js';
import { about, acknowledged, expectOnlyErrors, useWatchedLog, writers, type LoggedEvent } from './support/concurrency.js';
import { useServerPair } from './support/nodes.js';

/**
 * Every catalog, health and breaker write path, from two `switchboard serve` processes
 * on one database, with hundreds of writers on the same rows. Each test checks that no
 * write failed but as documented, that the final state is what some serial order of
 * the acknowledged writes gives, that each change has exactly one event, and that a
 * live subscriber saw the log in id order with nothing missing.
 */
const ADMIN = 'concurrency-services-admin-0123456789';
const servers = useServerPair({
  SWITCHBOARD_ADMIN_TOKEN: ADMIN,
  // No health pool: check counters must move only by the writes under test.
  SWITCHBOARD_HEALTH_WORKER: 'false',
  // Breakers: a window longer than the test, and an opening threshold the tests can reason about.
  SWITCHBOARD_BREAKER_WINDOW: '1h',
  SWITCHBOARD_BREAKER_MIN_CALLS: '150',
  SWITCHBOARD_BREAKER_FAILURE_RATIO: '0.5',
  SWITCHBOARD_BREAKER_COOLDOWN: '1h',
});
const { both, watchFromNow, logSinceStart } = useWatchedLog(servers, ADMIN);

const register = (client: SwitchboardClient, overrides: Parameters<typeof instance>[0]) =>
  client.request(RegisterServiceDocument, { input: instance(overrides) }).then((result) => result.registerService);

/** Which server reads an id back: alternate, so both are asked. */
const readerFor = (id: string) => Number(id.replace(/\D/g, '')) % 2;

const metadataOf = (event: LoggedEvent) => (event.data['instance'] as { metadata: Record<string, string> }).metadata;

describe('registerService (group-committed) from two servers', () => {
  it('240 distinct ids at once: each registered once, with one event each', async () => {
    const outcomes = await writers(240, both, (client, i) => register(client, { id: `distinct-${i}`, name: 'distinct' }));
    expectOnlyErrors(outcomes);

    const log = await logSinceStart();
    const registered = log.filter((event) => event.type === 'service.registered');
    expect(registered.map((event) => event.data['id']).sort()).toEqual(Array.from({ length: 240 }, (_, i) => `distinct-${i}`).sort());
    expect(registered.every((event) => event.data['created'] === true)).toBe(true);
    const [row] = await servers.database.sql<{ n: number }[]>`select count(*)::int as n from services where name = 'distinct'`;
    expect(row!.n).toBe(240);
  });

  it('one id re-registered by 240 writers: one event per registration, the row is the last event', async () => {
    const outcomes = await writers(240, both, (client, i) => register(client, { id: 'same-id', name: 'same', metadata: { writer: String(i) } }));
    expectOnlyErrors(outcomes);
    for (const { value, writer } of acknowledged(outcomes)) expect(value.metadata).toEqual({ writer: String(writer) });

    const events = about(await logSinceStart(), 'same-id');
    // Every registration changed the definition (its own metadata), so each is exactly one event.
    expect(events.map((event) => metadataOf(event)['writer']).sort()).toEqual(outcomes.map((outcome) => String(outcome.writer)).sort());
    expect(events.map((event) => event.data['created'])).toEqual([true, ...Array(239).fill(false)]);
    const { service } = await both[1]!.request(ServiceDocument, { id: 'same-id' });
    expect(service!.metadata).toEqual(metadataOf(events.at(-1)!));
  });
});

describe('registerService with health checks (group-committed like every registration) from two servers', () => {
  it('one id with a check, re-registered by 200 writers: one registration event each, the check created once', async () => {
    const check = { ttl: '1h', name: 'self-report' };
    const outcomes = await writers(200, both, (client, i) =>
      register(client, { id: 'single-same', name: 'single', metadata: { writer: String(i) }, healthChecks: [check] }),
    );
    expectOnlyErrors(outcomes);

    const events = about(await logSinceStart(), 'single-same');
    const registered = events.filter((event) => event.type === 'service.registered');
    expect(registered.map((event) => metadataOf(event)['writer']).sort()).toEqual(outcomes.map((outcome) => String(outcome.writer)).sort());
    expect(registered.filter((event) => event.data['created'] === true)).toHaveLength(1);
    expect(registered[0]!.data['created']).toBe(true);
    const health = events.filter((event) => event.type === 'service.health.changed');
    expect(health.map((event) => [event.data['from'], event.data['to']])).toEqual([[null, 'CRITICAL']]);

    const { service } = await both[0]!.request(InstanceHealthDocument, { id: 'single-same' });
    expect(service!.checks).toHaveLength(1);
    expect((await both[1]!.request(ServiceDocument, { id: 'single-same' })).service!.metadata).toEqual(metadataOf(registered.at(-1)!));
  });
});

describe('unregisterService from two servers', () => {
  it('three concurrent unregisters of each of 80 instances: one succeeds, the others are NOT_FOUND, one event', async () => {
    const ids = Array.from({ length: 80 }, (_, i) => `leaving-${i}`);
    expectOnlyErrors(await writers(ids.length, both, (client, i) => register(client, { id: ids[i]!, name: 'leaving' })));
    await watchFromNow();

    const outcomes = await writers(ids.length * 3, both, (client, i) => client.request(UnregisterServiceDocument, { id: ids[i % ids.length]! }));
    // The documented answer for an id already gone.
    expectOnlyErrors(outcomes, ['NOT_FOUND']);
    const succeeded = acknowledged(outcomes).map((outcome) => ids[outcome.writer % ids.length]);
    expect(succeeded.sort()).toEqual([...ids].sort());

    const log = await logSinceStart();
    expect(
      log
        .filter((event) => event.type === 'service.unregistered')
        .map((event) => event.data['id'])
        .sort(),
    ).toEqual([...ids].sort());
    const [row] = await servers.database.sql<{ n: number }[]>`select count(*)::int as n from services where name = 'leaving'`;
    expect(row!.n).toBe(0);
  });

  it('registrations and unregistrations racing on 20 ids: one event per acknowledged write, each row as its last event says', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `churn-${i}`);
    const registers = (i: number) => Math.floor(i / ids.length) % 2 === 0;
    const outcomes = await writers(240, both, (client, i) =>
      registers(i)
        ? register(client, { id: ids[i % ids.length]!, name: 'churn', metadata: { writer: String(i) } }).then(() => true)
        : client.request(UnregisterServiceDocument, { id: ids[i % ids.length]! }).then((result) => result.unregisterService),
    );
    expectOnlyErrors(outcomes, ['NOT_FOUND']);
    expect(outcomes.filter((outcome) => !outcome.ok).every((outcome) => !registers(outcome.writer))).toBe(true);

    const log = await logSinceStart();
    for (const id of ids) {
      const events = about(log, id);
      const acks = acknowledged(outcomes).filter((outcome) => ids[outcome.writer % ids.length] === id);
      const registeredBy = events.filter((event) => event.type === 'service.registered').map((event) => Number(metadataOf(event)['writer']));
      expect(
        registeredBy.sort((x, y) => x - y),
        id,
      ).toEqual(acks.filter((ack) => registers(ack.writer)).map((ack) => ack.writer));
      expect(
        events.filter((event) => event.type === 'service.unregistered'),
        id,
      ).toHaveLength(acks.filter((ack) => !registers(ack.writer)).length);
      // Removals and registrations alternate: an unregister only succeeds on a registered row.
      events.forEach((event, n) => {
        if (event.type === 'service.unregistered') expect(events[n - 1]?.type, `${id}: removal without a registration before it`).toBe('service.registered');
      });
      const { service } = await both[readerFor(id)]!.request(ServiceDocument, { id });
      const last = events.at(-1)!;
      if (last.type === 'service.unregistered') expect(service, id).toBeNull();
      else expect(service?.metadata, id).toEqual(metadataOf(last));
    }
  });
});

describe('heartbeat from two servers', () => {
  it('200 concurrent heartbeats: all succeed, the TTL check passes with exactly one event, its run counter is exact', async () => {
    const id = 'beating';
    await register(both[0]!, { id, name: 'beating', ttl: '1h', healthChecks: [{ ttl: '1h', name: 'beat' }] });
    const { service } = await both[0]!.request(InstanceHealthDocument, { id });
    const check = service!.checks[0]!;
    expect(check.status).toBe('CRITICAL');

    const outcomes = await writers(200, both, (client) => client.request(HeartbeatDocument, { id }));
    expectOnlyErrors(outcomes);

    const health = about(await logSinceStart(), id).filter((event) => event.type === 'service.health.changed' && event.data['checkId'] === check.id);
    expect(health.map((event) => [event.data['from'], event.data['to']])).toEqual([
      [null, 'CRITICAL'],
      ['CRITICAL', 'PASSING'],
    ]);
    const { healthCheck } = await both[1]!.request(HealthCheckDocument, { id: check.id });
    expect(healthCheck).toMatchObject({ status: 'PASSING', checkCount: 200, failureCount: 0 });
  });
});

describe('updateWeight from two servers', () => {
  it('200 writers set distinct weights: one event each, the row and both catalogs end at the last event', async () => {
    const id = 'weighed';
    await register(both[0]!, { id, name: 'weighed' });
    const weights = (i: number) => i + 2; // never the default 1, so every write is a change
    const outcomes = await writers(200, both, (client, i) => client.request(UpdateWeightDocument, { id, weight: weights(i) }));
    expectOnlyErrors(outcomes);
    for (const { value, writer } of acknowledged(outcomes)) expect(value.updateWeight.weight).toBe(weights(writer));

    // After the registration's own event: the weight changes.
    const events = about(await logSinceStart(), id).filter((event) => event.type === 'service.registered' && event.data['created'] === false);
    const eventWeights = events.map((event) => (event.data['instance'] as { weight: number }).weight);
    expect([...eventWeights].sort((x, y) => x - y)).toEqual(outcomes.map((outcome) => weights(outcome.writer)));
    const final = eventWeights.at(-1)!;
    expect((await both[1]!.request(ServiceDocument, { id })).service!.weight).toBe(final);
    // Each server's in-memory catalog applied the events in order, so it ends at the same weight.
    for (const client of both) {
      await eventually(async () => {
        const { selectInstanceExplained } = await client.request(SelectInstanceExplainedDocument, { service: 'weighed' });
        return selectInstanceExplained.candidates[0]?.weight === final ? true : undefined;
      });
    }
  });
});

describe('setMaintenance from two servers', () => {
  it('200 writers change the reason, then 200 switch it off: one event per change, one for the switch', async () => {
    const id = 'maintained';
    await register(both[0]!, { id, name: 'maintained' });
    const on = await writers(200, both, (client, i) => client.request(SetMaintenanceDocument, { id, enabled: true, reason: `reason ${i}` }));
    expectOnlyErrors(on);
    const off = await writers(200, both, (client) => client.request(SetMaintenanceDocument, { id, enabled: false }));
    expectOnlyErrors(off);

    const events = about(await logSinceStart(), id).filter((event) => event.type === 'service.health.changed');
    const states = events.map((event) => event.data['maintenance'] as { reason: string; since: string } | null);
    // Only one of the 200 "off" writes switched anything: one event, the last.
    expect(
      states.filter((state) => state === null),
      'events that switched maintenance off',
    ).toHaveLength(1);
    expect(states.at(-1)).toBeNull();
    // Every "on" carried its own reason, so each changed something: one event each.
    expect(
      states
        .slice(0, -1)
        .map((state) => state!.reason)
        .sort(),
    ).toEqual(on.map((outcome) => `reason ${outcome.writer}`).sort());
    // Maintenance began once: every later event keeps the first one's start.
    expect(new Set(states.slice(0, -1).map((state) => state!.since)).size).toBe(1);
    const { service } = await both[1]!.request(ServiceDocument, { id });
    expect(service).not.toBeNull();
    const { setMaintenance } = await both[1]!.request(SetMaintenanceDocument, { id, enabled: false });
    expect(setMaintenance.maintenance).toBeNull();
  });
});

describe('registerHealthCheck from two servers', () => {
  it('200 writers add one check id and 200 add their own: each check created once, one event each', async () => {
    const id = 'checked';
    await register(both[0]!, { id, name: 'checked' });
    const outcomes = await writers(400, both, (client, i) =>
      client.request(RegisterHealthCheckDocument, { serviceId: id, check: { id: i % 2 === 0 ? 'shared-check' : `own-check-${i}`, ttl: '1h' } }),
    );
    expectOnlyErrors(outcomes);

    const events = about(await logSinceStart(), id).filter((event) => event.type === 'service.health.changed');
    const created = events.map((event) => [event.data['checkId'], event.data['from'], event.data['to']]);
    const expected = ['shared-check', ...Array.from({ length: 200 }, (_, k) => `own-check-${2 * k + 1}`)];
    expect(created.map(([checkId]) => checkId).sort()).toEqual(expected.sort());
    expect(created.every(([, from, to]) => from === null && to === 'CRITICAL')).toBe(true);
    const { service } = await both[1]!.request(InstanceHealthDocument, { id });
    expect(service!.checks.map((check) => check.id).sort()).toEqual(expected.sort());
  });

  it('200 writers add one check id to two different instances: one instance gets it, the other CONFLICT, one event', async () => {
    const owners = ['contested-0', 'contested-1'];
    for (const id of owners) await register(both[0]!, { id, name: 'contested' });
    const outcomes = await writers(200, both, (client, i) =>
      client.request(RegisterHealthCheckDocument, { serviceId: owners[Math.floor(i / 2) % 2]!, check: { id: 'contested-check', ttl: '1h' } }),
    );
    // Documented: a check id that belongs to another instance is CONFLICT.
    expectOnlyErrors(outcomes, ['CONFLICT']);
    const [owner, ...others] = [...new Set(acknowledged(outcomes).map((outcome) => outcome.value.registerHealthCheck.serviceId))];
    expect(others).toEqual([]);
    expect(outcomes.filter((outcome) => !outcome.ok).every((outcome) => owners[Math.floor(outcome.writer / 2) % 2] !== owner)).toBe(true);

    const events = (await logSinceStart()).filter((event) => event.type === 'service.health.changed' && event.data['checkId'] === 'contested-check');
    expect(events.map((event) => [event.data['id'], event.data['from'], event.data['to']])).toEqual([[owner, null, 'CRITICAL']]);
  });
});

describe('updateTtlCheck from two servers', () => {
  it('200 writers report mixed statuses: counters exact, and the events chain each status to the next', async () => {
    const id = 'self-reporting';
    await register(both[0]!, { id, name: 'self-reporting', healthChecks: [{ ttl: '1h', name: 'self' }] });
    const checkId = (await both[0]!.request(InstanceHealthDocument, { id })).service!.checks[0]!.id;
    const statuses = ['PASSING', 'WARNING', 'CRITICAL', 'PASSING'] as const;
    const statusOf = (i: number) => statuses[(i * 7) % statuses.length]!;
    const outcomes = await writers(200, both, (client, i) => client.request(UpdateTtlCheckDocument, { checkId, status: statusOf(i), output: `writer ${i}` }));
    expectOnlyErrors(outcomes);

    const events = about(await logSinceStart(), id).filter((event) => event.type === 'service.health.changed' && event.data['checkId'] === checkId);
    // Registration made it CRITICAL; from there, each event starts where the one before ended.
    expect(events[0]!.data['from']).toBeNull();
    for (let k = 1; k < events.length; k++) {
      expect(events[k]!.data['from'], `event ${k}`).toBe(events[k - 1]!.data['to']);
      expect(events[k]!.data['from'], `event ${k} changed nothing`).not.toBe(events[k]!.data['to']);
    }
    const { healthCheck } = await both[1]!.request(HealthCheckDocument, { id: checkId });
    const failing = outcomes.filter((outcome) => statusOf(outcome.writer) !== 'PASSING').length;
    expect(healthCheck).toMatchObject({ status: events.at(-1)!.data['to'], checkCount: 200, failureCount: failing });
    // The final status is the last write's, and its output with it.
    const lastOutput = healthCheck!.output;
    expect(statusOf(Number(lastOutput.replace('writer ', '')))).toBe(healthCheck!.status);
  });
});

describe('reportCallOutcome from two servers', () => {
  it('300 reports on each of three instances: counters exact, and a breaker that opens does so once', async () => {
    const ids = ['calls-ok', 'calls-mixed', 'calls-failing'];
    for (const id of ids) await register(both[0]!, { id, name: 'called' });
    // 'calls-mixed' gets 60 failures in 300: at most 40% of any prefix of 150 or more, so it never opens.
    const report = (i: number) => {
      const id = ids[i % 3]!;
      const success = id === 'calls-ok' || (id === 'calls-mixed' && Math.floor(i / 3) % 5 !== 0);
      return { id, success };
    };
    const outcomes = await writers(900, both, (client, i) => client.request(ReportCallOutcomeDocument, report(i)));
    expectOnlyErrors(outcomes);

    const breaker = async (id: string) => (await both[1]!.request(CircuitBreakerDocument, { id })).service!.circuitBreaker;
    expect(await breaker('calls-ok')).toMatchObject({ state: 'CLOSED', calls: 300, failures: 0 });
    const mixedFailures = outcomes.filter((outcome) => report(outcome.writer).id === 'calls-mixed' && !report(outcome.writer).success).length;
    expect(await breaker('calls-mixed')).toMatchObject({ state: 'CLOSED', calls: 300, failures: mixedFailures });
    // Opens at the 150th failure; an open breaker ignores the rest.
    expect(await breaker('calls-failing')).toMatchObject({ state: 'OPEN', calls: 150, failures: 150 });

    const circuit = (await logSinceStart()).filter((event) => event.type.startsWith('circuit.'));
    expect(circuit.map((event) => [event.type, event.data['id']])).toEqual([['circuit.opened', 'calls-failing']]);
  });
});
