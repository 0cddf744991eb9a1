import { describe, expect, it } from 'vitest';
import { CreateTokenDocument, HeartbeatDocument, LatestEventIdDocument, RegisterServiceDocument } from '@switchboard/client';
import { instance } from './support/client.js';
import { writers } from './support/concurrency.js';
import { scrape, sumOf } from './support/metrics.js';
import { useServerPair } from './support/nodes.js';

/**
 * Heartbeats are group-committed (HeartbeatWriter): hundreds at once from two servers, on the
 * same and on different instances, share transactions, yet each caller gets its own answer, a
 * renewal that changes nothing visible appends no event, and every lease moves on.
 */
const ADMIN = 'heartbeat-batches-admin-0123456789';
// No health pool: check counters move only by the heartbeats under test.
const servers = useServerPair({ SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_HEALTH_WORKER: 'false' });

const OURS = Array.from({ length: 12 }, (_, i) => `hb-a-${i}`);
const THEIRS = 'hb-b-0';
const checkOf = (id: string) => `${id}-beat`;

const WRITER = 'switchboard_group_commit_batch_size';
async function batches(): Promise<{ transactions: number; heartbeats: number }> {
  const samples = await Promise.all(servers.nodes.map((node) => scrape(new URL('/metrics', node.url).toString(), ADMIN)));
  return {
    transactions: samples.reduce((sum, one) => sum + sumOf(one, `${WRITER}_count`, { writer: 'heartbeats' }), 0),
    heartbeats: samples.reduce((sum, one) => sum + sumOf(one, `${WRITER}_sum`, { writer: 'heartbeats' }), 0),
  };
}

describe('heartbeats from two servers', () => {
  it('share transactions; each caller gets its own answer; no-op renewals append no event; every lease moves on', async () => {
    const admins = servers.nodes.map((node) => servers.clients.create(node.url, ADMIN));
    const { createToken } = await admins[0]!.request(CreateTokenDocument, { input: { name: 'team-a', scopes: ['WRITE'], servicePrefix: 'hb-a-' } });
    const teamA = servers.nodes.map((node) => servers.clients.create(node.url, createToken.token));
    await Promise.all(
      [...OURS, THEIRS].map((id, i) => {
        const input = instance({ id, name: id.startsWith('hb-a-') ? 'hb-a-svc' : 'hb-b-svc', ttl: '1h', healthChecks: [{ id: checkOf(id), ttl: '1h' }] });
        return admins[i % 2]!.request(RegisterServiceDocument, { input });
      }),
    );
    // A first heartbeat turns each TTL check passing (an event each); after it, renewals change nothing visible.
    await Promise.all([...OURS, THEIRS].map((id) => admins[0]!.request(HeartbeatDocument, { id })));

    const { latestEventId: before } = await admins[0]!.request(LatestEventIdDocument);
    const leases = async () =>
      new Map(
        (
          await servers.database.sql<{ id: string; ms: number }[]>`
          select id, (extract(epoch from expires_at) * 1000)::float8 as ms from services where id like 'hb-%'`
        ).map((row) => [row.id, row.ms]),
      );
    const leasesBefore = await leases();
    const metricsBefore = await batches();

    // 300 heartbeats, half to each server: a tenth on one instance, the rest spread; some refused.
    const target = (i: number) => (i % 50 === 7 ? `hb-missing-${i}` : i % 50 === 13 ? THEIRS : i % 10 === 0 ? OURS[0]! : OURS[1 + (i % (OURS.length - 1))]!);
    const count = 300;
    const outcomes = await writers(count, teamA, (client, i) => client.request(HeartbeatDocument, { id: target(i) }));
    // Consul's TTL pass is a heartbeat too, batched with them: on our checks, on an unknown one, on theirs.
    const passTarget = (i: number) => (i === 3 ? 'no-such-check' : i === 5 ? checkOf(THEIRS) : checkOf(OURS[i % OURS.length]!));
    const passes = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const url = new URL(`/v1/agent/check/pass/${passTarget(i)}?note=fine`, servers.nodes[i % 2]!.url);
        return (await fetch(url, { method: 'PUT', headers: { 'x-consul-token': createToken.token } })).status;
      }),
    );

    // Every caller got its answer: the refused alone, each with its own code.
    expect(outcomes).toHaveLength(count);
    for (const [i, outcome] of outcomes.entries()) {
      const id = target(i);
      if (id.startsWith('hb-missing-')) expect(outcome, id).toMatchObject({ ok: false, code: 'NOT_FOUND' });
      else if (id === THEIRS) expect(outcome, id).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      else {
        expect(outcome, id).toMatchObject({ ok: true });
        if (outcome.ok) expect(Date.parse(outcome.value.heartbeat.expiresAt as string)).toBeGreaterThan(leasesBefore.get(id)!);
      }
    }
    expect(passes.map((status, i) => [passTarget(i), status])).toEqual(passes.map((_, i) => [passTarget(i), i === 3 ? 404 : i === 5 ? 403 : 200]));

    // Every lease of ours moved on; theirs did not. No event: nothing visible changed.
    const leasesAfter = await leases();
    for (const id of OURS) expect(leasesAfter.get(id), id).toBeGreaterThan(leasesBefore.get(id)!);
    expect(leasesAfter.get(THEIRS)).toBe(leasesBefore.get(THEIRS));
    const [appended] = await servers.database.sql<{ n: number }[]>`select count(*)::int as n from events where id > ${before}`;
    expect(appended!.n).toBe(0);

    // Each TTL check counts every heartbeat and pass it got (the first heartbeat included), none lost to batching.
    const expected = new Map(OURS.map((id) => [checkOf(id), 1]));
    for (let i = 0; i < count; i++) if (OURS.includes(target(i))) expected.set(checkOf(target(i)), expected.get(checkOf(target(i)))! + 1);
    for (let i = 0; i < passes.length; i++) if (expected.has(passTarget(i))) expected.set(passTarget(i), expected.get(passTarget(i))! + 1);
    const counted = await servers.database.sql<{ id: string; check_count: string; status: string }[]>`
      select id, check_count, status from health_checks where id like 'hb-a-%'`;
    expect(new Map(counted.map((row) => [row.id, Number(row.check_count)]))).toEqual(expected);
    expect(counted.every((row) => row.status === 'PASSING')).toBe(true);

    // Batched, not one transaction per heartbeat.
    const metricsAfter = await batches();
    const heartbeats = metricsAfter.heartbeats - metricsBefore.heartbeats;
    const transactions = metricsAfter.transactions - metricsBefore.transactions;
    expect(heartbeats).toBe(count + passes.length);
    expect(transactions).toBeLessThan(heartbeats);
  });
});
