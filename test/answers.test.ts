import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, sleep } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';
import { startHttpTarget, startTcpTargets } from './support/targets.js';

/**
 * A mutation's answer must agree with a read right after it: the answer is built
 * from the state the write left, not from a row read before the write finished.
 * Each test asks the mutation and then `service(id)` for the same fields and
 * compares them.
 */
const registry = useRegistryNode({ SWITCHBOARD_BREAKER_MIN_CALLS: '2' });

let http: Awaited<ReturnType<typeof startHttpTarget>>;
let tcp: Awaited<ReturnType<typeof startTcpTargets>>;

beforeAll(async () => {
  [http, tcp] = await Promise.all([startHttpTarget(), startTcpTargets()]);
  http.answer('/broken', { status: 500, body: 'boom' });
});

afterAll(async () => {
  await Promise.all([http?.close(), tcp?.close()]);
});

/** What an answer and a read are compared on. */
const INSTANCE_FIELDS = `
  id weight updatedAt lastHeartbeatAt expiresAt
  health { status output }
  checks { id status }
  maintenance { reason }
  circuitBreaker { state calls failures }
`;

interface InstanceView {
  id: string;
  weight: number;
  updatedAt: string;
  lastHeartbeatAt: string | null;
  expiresAt: string | null;
  health: { status: string; output: string };
  checks: { id: string; status: string }[];
  maintenance: { reason: string | null } | null;
  circuitBreaker: { state: string; calls: number; failures: number };
}

/** One GraphQL request over HTTP; throws on errors. */
async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(registry.node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(body.errors.map((error) => error.message).join('; '));
  return body.data!;
}

const read = async (id: string) => (await graphql<{ service: InstanceView }>(`query ($id: ID!) { service(id: $id) { ${INSTANCE_FIELDS} } }`, { id })).service;

const worst = (checks: readonly { status: string }[]) =>
  ['CRITICAL', 'WARNING', 'PASSING'].find((status) => checks.some((check) => check.status === status)) ?? 'PASSING';

let serial = 0;
const nextId = (prefix: string) => `${prefix}-${++serial}`;

async function register(input: Record<string, unknown>): Promise<InstanceView> {
  const query = `mutation ($input: ServiceDefinitionInput!) { registerService(input: $input) { ${INSTANCE_FIELDS} } }`;
  return (await graphql<{ registerService: InstanceView }>(query, { input: { version: '1.0.0', address: '10.0.0.1', port: 8080, ...input } })).registerService;
}

describe('mutation answers agree with the next read', () => {
  it('registerService with a failing HTTP check answers CRITICAL, as its checks and the next read say', async () => {
    const id = nextId('failing-http');
    const answer = await register({ id, name: 'answers', healthCheck: { http: http.url('/broken'), interval: '1s' } });
    expect(answer.checks).toHaveLength(1);
    expect(answer.health.status).toBe(worst(answer.checks));
    expect(answer.health.status).toBe('CRITICAL');
    const next = await read(id);
    expect(next.health.status).toBe(answer.health.status);
    expect(next.checks).toEqual(answer.checks);

    // Once the check has really run against the target (HTTP 500), everything still agrees.
    const ran = await eventually(async () => {
      const current = await read(id);
      return current.health.output.includes('500') ? current : undefined;
    });
    expect(ran.health.status).toBe('CRITICAL');
    const again = await register({ id, name: 'answers', healthCheck: { http: http.url('/broken'), interval: '1s' } });
    expect(again.health).toEqual((await read(id)).health);
  });

  it('registerService with a TCP check on a closed port answers CRITICAL, as the next read does', async () => {
    const id = nextId('closed-tcp');
    const answer = await register({ id, name: 'answers', healthChecks: [{ tcp: tcp.closed, interval: '1s' }, { ttl: '1h' }] });
    expect(answer.checks).toHaveLength(2);
    expect(answer.health.status).toBe(worst(answer.checks));
    expect(answer.health.status).toBe('CRITICAL');
    expect((await read(id)).health.status).toBe(answer.health.status);
  });

  it('heartbeat answers PASSING once it passed both TTL checks, with the output and the next read agreeing', async () => {
    const id = nextId('heartbeat');
    const registered = await register({
      id,
      name: 'answers',
      ttl: '1h',
      healthChecks: [
        { id: `${id}-a`, ttl: '1h' },
        { id: `${id}-b`, ttl: '1h' },
      ],
    });
    expect(registered.health.status).toBe('CRITICAL'); // TTL checks start critical

    const answer = (await graphql<{ heartbeat: InstanceView }>(`mutation ($id: ID!) { heartbeat(id: $id) { ${INSTANCE_FIELDS} } }`, { id })).heartbeat;
    expect(answer.checks.map((check) => check.status)).toEqual(['PASSING', 'PASSING']);
    expect(answer.health.status).toBe('PASSING');
    expect(answer.health.output).toMatch(/^All 2 check\(s\) passing\./);
    expect(await read(id)).toEqual(answer);
  });

  it('updateWeight answers what the next read shows, also when the weight does not change', async () => {
    const id = nextId('weight');
    await register({ id, name: 'answers' });
    const query = `mutation ($id: ID!, $weight: Int!) { updateWeight(id: $id, weight: $weight) { ${INSTANCE_FIELDS} } }`;
    const changed = (await graphql<{ updateWeight: InstanceView }>(query, { id, weight: 5 })).updateWeight;
    expect(changed.weight).toBe(5);
    expect(await read(id)).toEqual(changed);
    // The same weight again is no change: the answer must not show a new updatedAt that no read will.
    await sleep(20); // time passing is the subject: a new updatedAt would now differ from the first
    const unchanged = (await graphql<{ updateWeight: InstanceView }>(query, { id, weight: 5 })).updateWeight;
    expect(unchanged).toEqual(await read(id));
    expect(unchanged.updatedAt).toBe(changed.updatedAt);
  });

  it('setMaintenance, registerHealthCheck, updateTtlCheck and reportCallOutcome answer what the next read shows', async () => {
    const id = nextId('others');
    await register({ id, name: 'answers' });

    const maintenance = `mutation ($id: ID!, $enabled: Boolean!, $reason: String) { setMaintenance(id: $id, enabled: $enabled, reason: $reason) { ${INSTANCE_FIELDS} } }`;
    const on = (await graphql<{ setMaintenance: InstanceView }>(maintenance, { id, enabled: true, reason: 'upgrade' })).setMaintenance;
    expect(on.health.status).toBe('CRITICAL');
    expect(on).toEqual(await read(id));
    const off = (await graphql<{ setMaintenance: InstanceView }>(maintenance, { id, enabled: false })).setMaintenance;
    expect(off.health.status).toBe('PASSING');
    expect(off).toEqual(await read(id));

    const check = (
      await graphql<{ registerHealthCheck: { id: string; status: string } }>(
        `
          mutation ($id: ID!) {
            registerHealthCheck(serviceId: $id, check: { ttl: "1h" }) {
              id
              status
            }
          }
        `,
        { id },
      )
    ).registerHealthCheck;
    const afterCheck = await read(id);
    expect(afterCheck.checks).toEqual([check]);
    expect(afterCheck.health.status).toBe(check.status);

    const updated = (
      await graphql<{ updateTtlCheck: { id: string; status: string } }>(
        `
          mutation ($checkId: ID!) {
            updateTtlCheck(checkId: $checkId, status: WARNING, output: "slow") {
              id
              status
            }
          }
        `,
        {
          checkId: check.id,
        },
      )
    ).updateTtlCheck;
    const afterUpdate = await read(id);
    expect(afterUpdate.checks).toEqual([updated]);
    expect(afterUpdate.health.status).toBe('WARNING');
    expect(afterUpdate.health.output).toMatch(/: slow$/);

    const report = `mutation ($id: ID!) { reportCallOutcome(id: $id, success: false) { ${INSTANCE_FIELDS} } }`;
    const first = (await graphql<{ reportCallOutcome: InstanceView }>(report, { id })).reportCallOutcome;
    expect(first).toEqual(await read(id));
    const opened = (await graphql<{ reportCallOutcome: InstanceView }>(report, { id })).reportCallOutcome;
    expect(opened.circuitBreaker.state).toBe('OPEN');
    expect(opened).toEqual(await read(id));
  });
});
