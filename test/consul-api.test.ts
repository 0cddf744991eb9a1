import Consul from 'consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTokenDocument, LatestEventIdDocument } from '@switchboard/client';
import { createTestDatabase } from './support/database.js';
import { startTestNode, useRegistryNode } from './support/nodes.js';
import { feedWaiters, feedWaitersReach } from './support/feed-waiters.js';

// The Consul-compatible API (/v1/) on a real server, through the npm `consul` client and
// plain fetch. Writes need a token here, as in production.
const ADMIN = 'consul-api-test-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_ENABLE_SCRIPT_CHECKS: 'true', SWITCHBOARD_MAX_BODY_BYTES: '4096' });

let base: string;
let consul: Consul;
beforeAll(() => {
  base = `http://127.0.0.1:${registry.node.port}`;
  consul = new Consul({ host: '127.0.0.1', port: registry.node.port!, defaults: { token: ADMIN } });
});
afterAll(() => consul?.destroy());

interface Reply {
  status: number;
  index: number;
  contentType: string | null;
  text: string;
  json: () => unknown;
}

async function call(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Reply> {
  const { token = ADMIN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null && !headers.has('x-consul-token')) headers.set('x-consul-token', token);
  const response = await fetch(base + path, { ...rest, headers });
  const text = await response.text();
  return {
    status: response.status,
    index: Number(response.headers.get('x-consul-index')),
    contentType: response.headers.get('content-type'),
    text,
    json: () => JSON.parse(text) as unknown,
  };
}

const put = (path: string, body?: unknown, init: RequestInit & { token?: string | null } = {}) =>
  call(path, { method: 'PUT', body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body), ...init });

const latestEventId = async () => (await registry.clients.create(registry.node.url, ADMIN).request(LatestEventIdDocument)).latestEventId;

async function tokenWith(scopes: ('READ' | 'WRITE')[]): Promise<string> {
  const { createToken } = await registry.clients
    .create(registry.node.url, ADMIN)
    .request(CreateTokenDocument, { input: { name: `consul-${scopes.join('-')}`, scopes } });
  return createToken.token;
}

describe('the npm consul client', () => {
  it('registers with a TTL check, discovers through the catalog and health, passes and fails the check, and puts the instance in maintenance', async () => {
    await consul.agent.service.register({
      name: 'npm-web',
      id: 'npm-web-1',
      address: '10.1.0.5',
      port: 8080,
      tags: ['v1', 'eu'],
      meta: { zone: 'eu-1' },
      check: { name: 'npm-web alive', ttl: '30s', timeout: '1s' },
    });

    const nodes = await consul.catalog.service.nodes('npm-web');
    expect(nodes).toEqual([
      expect.objectContaining({
        Node: '10.1.0.5',
        Address: '10.1.0.5',
        Datacenter: 'dc1',
        ServiceID: 'npm-web-1',
        ServiceName: 'npm-web',
        ServiceAddress: '10.1.0.5',
        ServicePort: 8080,
        ServiceTags: ['v1', 'eu'],
        ServiceMeta: { zone: 'eu-1' },
      }),
    ]);
    // A new check is critical until it passes (as in Consul): no passing instance yet.
    expect(await consul.health.service({ service: 'npm-web', passing: true })).toEqual([]);

    await consul.agent.check.pass({ id: 'service:npm-web-1', note: 'all good' });
    const passing = (await consul.health.service({ service: 'npm-web', passing: true })) as {
      Node: { Node: string };
      Service: { ID: string };
      Checks: { CheckID: string; Status: string; Output: string; Type: string }[];
    }[];
    expect(passing).toHaveLength(1);
    expect(passing[0]!.Node.Node).toBe('10.1.0.5');
    expect(passing[0]!.Service.ID).toBe('npm-web-1');
    expect(passing[0]!.Checks).toEqual([expect.objectContaining({ CheckID: 'service:npm-web-1', Status: 'passing', Output: 'all good', Type: 'ttl' })]);

    await consul.agent.check.fail({ id: 'service:npm-web-1' });
    expect(await consul.health.service({ service: 'npm-web', passing: true })).toEqual([]);
    await consul.agent.check.pass('service:npm-web-1');

    await consul.agent.service.maintenance({ id: 'npm-web-1', enable: true, reason: 'kernel upgrade' });
    expect(await consul.health.service({ service: 'npm-web', passing: true })).toEqual([]);
    const checks = (await consul.health.checks('npm-web')) as { CheckID: string; Status: string; Notes: string }[];
    expect(checks).toContainEqual(expect.objectContaining({ CheckID: '_service_maintenance:npm-web-1', Status: 'critical', Notes: 'kernel upgrade' }));
    await consul.agent.service.maintenance({ id: 'npm-web-1', enable: false });
    expect(await consul.health.service({ service: 'npm-web', passing: true })).toHaveLength(1);

    await consul.agent.service.deregister('npm-web-1');
    expect(await consul.catalog.service.nodes('npm-web')).toEqual([]);
  });

  it('sees a registration through its watch on health.service within a second', async () => {
    const watch = consul.watch({ method: consul.health.service, options: { service: 'npm-watched', wait: '30s' } });
    const seen = new Promise<number>((resolve, reject) => {
      watch.on('change', (data: unknown[]) => {
        if (data.length > 0) resolve(Date.now());
      });
      watch.on('error', reject);
    });
    try {
      // The watch's first answer (empty), then the registration wakes its blocking query.
      const waiting = feedWaiters(registry.node);
      await new Promise<void>((resolve) => watch.once('change', () => resolve()));
      await feedWaitersReach(registry.node, waiting + 1); // its next, blocking, query is parked on the server
      const registeredAt = Date.now();
      await put('/v1/agent/service/register', { Name: 'npm-watched', Address: '10.1.0.9', Port: 9000 });
      expect((await seen) - registeredAt).toBeLessThan(1000);
    } finally {
      watch.end();
    }
  });
});

describe('registration bodies', () => {
  it('matches keys whatever their case and ignores fields it does not know, as Consul does', async () => {
    const reply = await put('/v1/agent/service/register', {
      name: 'lower-case',
      id: 'lower-case-1',
      address: '10.2.0.1',
      port: 81,
      enabletagoverride: true,
      SocketPath: '/tmp/x.sock',
      SomethingNew: { nested: true },
      check: { http: 'http://10.2.0.1:81/health', interval: '15s', timeout: '2s', DeregisterCriticalServiceAfter: '5m' },
    });
    expect(reply.status).toBe(200);
    const [entry] = (await call('/v1/health/service/lower-case').then((r) => r.json())) as {
      Service: { ID: string; Port: number };
      Checks: { CheckID: string; Type: string; Interval: string; Timeout: string }[];
    }[];
    expect(entry!.Service).toMatchObject({ ID: 'lower-case-1', Port: 81 });
    expect(entry!.Checks).toEqual([expect.objectContaining({ CheckID: 'service:lower-case-1', Type: 'http', Interval: '15s', Timeout: '2s' })]);
  });

  it("takes every check kind, with Consul's default ids, and replace-existing-checks removes the ones left out", async () => {
    const reply = await put('/v1/agent/service/register', {
      Name: 'kinds',
      ID: 'kinds-1',
      Address: '127.0.0.1',
      Port: 9,
      Checks: [
        { HTTP: 'http://127.0.0.1:9/health', Interval: '10s', Header: { 'X-Probe': ['a', 'b'] }, Method: 'HEAD' },
        { TCP: '127.0.0.1:9', Interval: '10s' },
        { GRPC: '127.0.0.1:9/health', Interval: '10s', GRPCUseTLS: false },
        { TTL: '1m', SuccessBeforePassing: 2, FailuresBeforeCritical: 3 },
        { Args: ['/bin/true'], Interval: '30s', Timeout: 5_000_000_000 },
      ],
    });
    expect(reply.status, reply.text).toBe(200);
    const types = ((await call('/v1/health/checks/kinds').then((r) => r.json())) as { CheckID: string; Type: string; Timeout: string }[]).map((check) => [
      check.CheckID,
      check.Type,
    ]);
    expect(types).toEqual([
      ['service:kinds-1:1', 'http'],
      ['service:kinds-1:2', 'tcp'],
      ['service:kinds-1:3', 'grpc'],
      ['service:kinds-1:4', 'ttl'],
      ['service:kinds-1:5', 'script'],
    ]);

    await put('/v1/agent/service/register?replace-existing-checks', {
      Name: 'kinds',
      ID: 'kinds-1',
      Address: '127.0.0.1',
      Port: 9,
      Checks: [{ TCP: '127.0.0.1:9', Interval: '10s' }],
    });
    const left = (await call('/v1/health/checks/kinds').then((r) => r.json())) as { CheckID: string }[];
    expect(left.map((check) => check.CheckID)).toEqual(['service:kinds-1:1']);
  });

  it.each([
    { what: 'malformed JSON', name: 'bad-json', body: '{"Name": "bad-json", ', message: /Request decode failed/ },
    {
      what: 'a body over the limit',
      name: 'too-big',
      body: JSON.stringify({ Name: 'too-big', Meta: { blob: 'x'.repeat(5000) } }),
      message: /exceeds 4096 bytes/,
    },
    {
      what: 'a bad duration',
      name: 'bad-duration',
      body: JSON.stringify({ Name: 'bad-duration', Check: { HTTP: 'http://10.0.0.1/', Interval: 'ten seconds' } }),
      message: /Interval must be a duration/,
    },
    {
      what: 'an unknown check kind',
      name: 'bad-kind',
      body: JSON.stringify({ Name: 'bad-kind', Check: { DockerContainerID: 'abc', Args: ['/bin/true'], Interval: '10s' } }),
      message: /Docker checks .* are not supported/,
    },
    {
      what: 'a check of no kind',
      name: 'no-kind',
      body: JSON.stringify({ Name: 'no-kind', Check: { Interval: '10s' } }),
      message: /needs one of HTTP, TCP, GRPC, TTL or Args/,
    },
    { what: 'an invalid service name', name: 'no spaces allowed', body: JSON.stringify({ Name: 'no spaces allowed' }), message: /name/ },
  ])('refuses $what with 400 in plain text and writes nothing', async ({ name, body, message }) => {
    const before = await latestEventId();
    const reply = await put('/v1/agent/service/register', body);
    expect(reply.status).toBe(400);
    expect(reply.contentType).toMatch(/^text\/plain/);
    expect(reply.text).toMatch(message);
    expect(reply.index).toBeGreaterThan(0);
    expect(await latestEventId()).toBe(before);
    expect(Object.keys((await call('/v1/catalog/services').then((r) => r.json())) as object)).not.toContain(name);
  });

  it('refuses a bad wait or index on a blocking query with 400', async () => {
    expect((await call('/v1/catalog/services?index=1&wait=forever')).status).toBe(400);
    expect((await call('/v1/catalog/services?index=-3')).status).toBe(400);
    expect((await call('/v1/health/service/x?passing=maybe')).status).toBe(400);
    expect((await call('/v1/health/state/sleepy')).status).toBe(400);
  });
});

describe('tokens', () => {
  it('answers 403 to a token without the WRITE scope and to no token, and lets a READ token read', async () => {
    const reader = await tokenWith(['READ']);
    const before = await latestEventId();
    const refused = await put('/v1/agent/service/register', { Name: 'read-only' }, { token: reader });
    expect(refused.status).toBe(403);
    expect(refused.text).toMatch(/Permission denied/);
    // Refused before its body is read: a caller without WRITE learns nothing from a 400.
    expect((await put('/v1/agent/service/register', '{"Name": ', { token: reader })).status).toBe(403);
    expect((await put('/v1/agent/service/register', { Name: 'anonymous' }, { token: null })).status).toBe(403);
    expect((await put('/v1/agent/service/register', { Name: 'wrong-token' }, { token: 'not-a-token-at-all-0000000000' })).text).toBe('ACL not found');
    expect(await latestEventId()).toBe(before);

    expect((await call('/v1/catalog/services', { token: null, headers: { authorization: `Bearer ${reader}` } })).status).toBe(200);
    expect((await call(`/v1/catalog/services?token=${reader}`, { token: null })).status).toBe(200);
  });

  it('lets a WRITE token register through X-Consul-Token', async () => {
    const writer = await tokenWith(['WRITE']);
    expect((await put('/v1/agent/service/register', { Name: 'written' }, { token: writer })).status).toBe(200);
  });
});

describe('blocking queries', () => {
  it('answer as soon as the service changes, with a higher index', async () => {
    const first = await call('/v1/health/service/blocked');
    const started = Date.now();
    const waiting = feedWaiters(registry.node);
    const blocked = call(`/v1/health/service/blocked?index=${first.index}&wait=20s`);
    await feedWaitersReach(registry.node, waiting + 1); // parked on the server: the change wakes it
    await put('/v1/agent/service/register', { Name: 'blocked', Address: '10.3.0.1', Port: 1 });
    const answer = await blocked;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(answer.index).toBeGreaterThan(first.index);
    expect(answer.json()).toEqual([expect.objectContaining({ Service: expect.objectContaining({ ID: 'blocked' }) })]);
  });

  it('do not wake for another service, and time out after the wait with the same index', async () => {
    const first = await call('/v1/health/service/quiet');
    const waitMs = 1_000; // time passing is the subject: the query outlives its wait
    const started = Date.now();
    const waiting = feedWaiters(registry.node);
    const blocked = call(`/v1/health/service/quiet?index=${first.index}&wait=${waitMs}ms`);
    await feedWaitersReach(registry.node, waiting + 1); // parked on the server before the other service changes
    await put('/v1/agent/service/register', { Name: 'noisy', Address: '10.3.0.2', Port: 1 });
    const answer = await blocked;
    const waited = Date.now() - started;
    // The wait plus at most 1/16 of it as jitter.
    expect(waited).toBeGreaterThanOrEqual(waitMs - 50);
    expect(waited).toBeLessThan(waitMs * (1 + 1 / 16) + 1000);
    expect(answer.status).toBe(200);
    expect(answer.index).toBe(first.index);
  });
});

describe('answers', () => {
  it('carry X-Consul-Index > 0 and the leader headers everywhere, errors included', async () => {
    await put('/v1/agent/service/register', { Name: 'indexed', Address: '10.4.0.1', Port: 1, Tags: ['a', 'b'] });
    const paths = [
      '/v1/agent/self',
      '/v1/agent/services',
      '/v1/agent/checks',
      '/v1/agent/service/indexed',
      '/v1/catalog/services',
      '/v1/catalog/service/indexed',
      '/v1/catalog/service/nothing-here',
      '/v1/catalog/datacenters',
      '/v1/catalog/nodes',
      '/v1/catalog/node/10.4.0.1',
      '/v1/health/service/indexed',
      '/v1/health/checks/indexed',
      '/v1/health/node/10.4.0.1',
      '/v1/health/state/any',
      '/v1/status/leader',
      '/v1/status/peers',
      '/v1/session/list',
      '/v1/no/such/endpoint',
    ];
    for (const path of paths) {
      const response = await fetch(base + path, { headers: { 'x-consul-token': ADMIN } });
      expect(Number(response.headers.get('x-consul-index')), path).toBeGreaterThan(0);
      expect(response.headers.get('x-consul-knownleader'), path).toBe('true');
      expect(response.headers.get('x-consul-lastcontact'), path).toBe('0');
      await response.body?.cancel();
    }
  });

  it('filter by every repeated ?tag=, answer empty lists as [], and 501 for what Switchboard does not implement', async () => {
    await put('/v1/agent/service/register', { Name: 'tagged', ID: 'tagged-1', Address: '10.5.0.1', Port: 1, Tags: ['a', 'b'] });
    await put('/v1/agent/service/register', { Name: 'tagged', ID: 'tagged-2', Address: '10.5.0.2', Port: 1, Tags: ['a'] });
    const ids = async (query: string) =>
      ((await call(`/v1/catalog/service/tagged${query}`).then((r) => r.json())) as { ServiceID: string }[]).map((entry) => entry.ServiceID);
    expect(await ids('?tag=a')).toEqual(['tagged-1', 'tagged-2']);
    expect(await ids('?tag=a&tag=b')).toEqual(['tagged-1']);
    expect(await ids('?tag=c')).toEqual([]);
    expect((await call('/v1/health/service/nothing-here')).text).toBe('[]');

    const session = await put('/v1/session/create', {});
    expect(session.status).toBe(501);
    expect(session.text).toMatch(/Sessions/);
    expect((await call('/v1/catalog/services', { method: 'DELETE' })).status).toBe(405);
    expect((await call('/v1/catalog/services?dc=elsewhere')).status).toBe(400);
    expect((await call('/v1/agent/services?filter=Service%3D%3Dx')).status).toBe(400);
  });
});

describe('a fresh registry', () => {
  it('wakes a query blocked on the index of the empty log for the very first event', async () => {
    const database = await createTestDatabase();
    const node = await startTestNode(database.url);
    try {
      const url = `http://127.0.0.1:${node.port}`;
      const empty = await fetch(`${url}/v1/health/service/first`);
      await empty.body?.cancel();
      const index = Number(empty.headers.get('x-consul-index'));
      expect(index).toBe(1);
      const waiting = feedWaiters(node);
      const blocked = fetch(`${url}/v1/health/service/first?index=${index}&wait=10s`);
      await feedWaitersReach(node, waiting + 1); // parked on the server: the first event wakes it
      const started = Date.now();
      // One registration without checks: one event, the log's first.
      await (
        await fetch(`${url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'first', Address: '10.9.0.1', Port: 1 }) })
      ).body?.cancel();
      const answer = await blocked;
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(Number(answer.headers.get('x-consul-index'))).toBe(2);
      expect(await answer.json()).toHaveLength(1);
    } finally {
      await node.stop();
      await database.drop();
    }
  });
});
