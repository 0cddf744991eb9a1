import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigDocument,
  ConfigHistoryDocument,
  CreateTokenDocument,
  DiscoverServicesDocument,
  EventsDocument,
  HeartbeatDocument,
  LatestEventIdDocument,
  OnConfigChangedDocument,
  OnEventsDocument,
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  RevokeTokenDocument,
  SetConfigDocument,
  TokensDocument,
  UnregisterServiceDocument,
  type TokenInput,
} from '@switchboard/client';
import { errorCode, instance, openGraphQLSocket, take } from './support/client.js';
import { untilOpenSubscriptions } from './support/subscriptions.js';
import { withTimeout } from './support/wait.js';
import { startTestNode, useRegistryNode, type TestNode } from './support/nodes.js';

const ADMIN = 'access-test-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_ENABLE_SCRIPT_CHECKS: 'true' });
const admin = () => registry.clients.create(registry.node.url, ADMIN);

async function token(input: TokenInput): Promise<{ id: string; secret: string }> {
  const { createToken } = await admin().request(CreateTokenDocument, { input });
  return { id: createToken.id, secret: createToken.token };
}

const as = (secret: string, node: TestNode = registry.node) => registry.clients.create(node.url, secret);

/** A WebSocket subscription ends with an UNAUTHENTICATED error, or its connection closes with 4401; whichever comes first. */
const endedUnauthenticated = (error: unknown) => {
  const { code } = error as { code?: unknown };
  return code === 'UNAUTHENTICATED' || code === 4401;
};

describe('scopes', () => {
  it('READ reads and subscribes, but cannot write', async () => {
    const reader = as((await token({ name: 'dashboards', scopes: ['READ'] })).secret);
    expect((await reader.request(DiscoverServicesDocument, { name: 'api' })).discoverServices).toEqual([]);
    expect(await errorCode(reader.request(RegisterServiceDocument, { input: instance({ id: 'read-only-1' }) }))).toBe('FORBIDDEN');
    expect(await errorCode(reader.request(SetConfigDocument, { key: 'a.b', value: 1 }))).toBe('FORBIDDEN');
    const { latestEventId } = await reader.request(LatestEventIdDocument);
    const stream = reader.subscribe(OnEventsDocument, { after: latestEventId });
    await admin().request(RegisterServiceDocument, { input: instance({ id: 'seen-by-reader' }) });
    expect((await take(stream, 1))[0]!.events.type).toBe('service.registered');
    await stream.return!();
    const [row] = await registry.database.sql`select count(*)::int as n from services where id = 'read-only-1'`;
    expect(row!['n']).toBe(0);
  });

  it('WRITE writes and reads, but cannot manage tokens or add script checks', async () => {
    const writer = as((await token({ name: 'deployer', scopes: ['WRITE'] })).secret);
    await writer.request(RegisterServiceDocument, { input: instance({ id: 'written-1' }) });
    expect((await writer.request(DiscoverServicesDocument, { name: 'api' })).discoverServices.map((entry) => entry.id)).toContain('written-1');
    expect(await errorCode(writer.request(CreateTokenDocument, { input: { name: 'escalate', scopes: ['ADMIN'] } }))).toBe('FORBIDDEN');
    expect(await errorCode(writer.request(TokensDocument))).toBe('FORBIDDEN');
    const script = writer.request(RegisterHealthCheckDocument, { serviceId: 'written-1', check: { script: '/bin/true' } });
    expect(await errorCode(script)).toBe('FORBIDDEN');
  });

  it('tokens are listed without secrets, and created with valid input only', async () => {
    const { secret, id } = await token({ name: 'listed', scopes: ['READ'], expiresIn: '1h' });
    const { tokens } = await admin().request(TokensDocument);
    expect(tokens.find((entry) => entry.id === id)).toMatchObject({ name: 'listed', scopes: ['READ'] });
    expect(JSON.stringify(tokens)).not.toContain(secret);
    const [stored] = await registry.database.sql`select count(*)::int as n from tokens where secret_hash = ${secret}`;
    expect(stored!['n']).toBe(0); // only a hash is kept
    const events = await registry.database.sql`select data::text from events where type like 'token.%'`;
    expect(events.map((row) => row['data']).join()).not.toContain(secret);

    for (const input of [
      { name: '', scopes: ['READ'] },
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['READ'], servicePrefix: 'has space' },
      { name: 'x', scopes: ['READ'], expiresIn: '10ms' },
    ] as TokenInput[]) {
      expect(await errorCode(admin().request(CreateTokenDocument, { input }))).toBe('BAD_USER_INPUT');
    }
  });
});

describe('prefixes', () => {
  it('servicePrefix limits which services a token may register, change or remove', async () => {
    const teamA = as((await token({ name: 'team-a', scopes: ['WRITE'], servicePrefix: 'team-a.' })).secret);
    await teamA.request(RegisterServiceDocument, { input: instance({ id: 'a-1', name: 'team-a.api' }) });
    await admin().request(RegisterServiceDocument, { input: instance({ id: 'b-1', name: 'team-b.api' }) });

    expect(await errorCode(teamA.request(RegisterServiceDocument, { input: instance({ id: 'a-2', name: 'team-b.api' }) }))).toBe('FORBIDDEN');
    expect(await errorCode(teamA.request(HeartbeatDocument, { id: 'b-1' }))).toBe('FORBIDDEN');
    expect(await errorCode(teamA.request(UnregisterServiceDocument, { id: 'b-1' }))).toBe('FORBIDDEN');
    // Taking over another team's instance id under one's own name is refused too.
    expect(await errorCode(teamA.request(RegisterServiceDocument, { input: instance({ id: 'b-1', name: 'team-a.api' }) }))).toBe('FORBIDDEN');
    expect((await teamA.request(UnregisterServiceDocument, { id: 'a-1' })).unregisterService).toBe(true);
    const [row] = await registry.database.sql`select name from services where id = 'b-1'`;
    expect(row!['name']).toBe('team-b.api');
  });

  it('keyPrefix limits config writes; secret values show only to those who may write them, never in events', async () => {
    const payments = as((await token({ name: 'payments-config', scopes: ['WRITE'], keyPrefix: 'payments.' })).secret);
    const reader = as((await token({ name: 'reader', scopes: ['READ'] })).secret);
    const { latestEventId } = await admin().request(LatestEventIdDocument);
    const watcher = reader.subscribe(OnConfigChangedDocument, { key: 'payments.api_key', after: latestEventId });

    await payments.request(SetConfigDocument, { key: 'payments.api_key', value: 'sk_live_very_secret', secret: true });
    expect(await errorCode(payments.request(SetConfigDocument, { key: 'search.api_key', value: 'x' }))).toBe('FORBIDDEN');

    expect((await payments.request(ConfigDocument, { key: 'payments.api_key' })).config).toMatchObject({
      value: 'sk_live_very_secret',
      secret: true,
      redacted: false,
    });
    expect((await reader.request(ConfigDocument, { key: 'payments.api_key' })).config).toMatchObject({ value: null, secret: true, redacted: true });
    expect((await reader.request(ConfigHistoryDocument, { key: 'payments.api_key' })).configHistory[0]).toMatchObject({ value: null, redacted: true });

    const [change] = await take(watcher, 1);
    expect(change!.configChanged).toMatchObject({ redacted: true, oldValue: null, newValue: null, version: 1 });
    await watcher.return!();
    const logged = await registry.database.sql`select data::text as data from events`;
    expect(logged.map((row) => row['data']).join()).not.toContain('sk_live_very_secret');
  });
});

describe('revocation and expiry', () => {
  it('a revoked token is refused at once over HTTP, and its live subscriptions end, on every server', async () => {
    const other = await startTestNode(registry.database.url, { SWITCHBOARD_ADMIN_TOKEN: ADMIN });
    try {
      const { id, secret } = await token({ name: 'short-lived', scopes: ['READ'] });
      const onOther = as(secret, other);
      expect((await onOther.request(LatestEventIdDocument)).latestEventId).toBeDefined();
      const wsStream = onOther.subscribe(OnEventsDocument, {});
      const sse = await fetch(other.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query: 'subscription { events { id } }' }),
      });
      const sseText = sse.text();
      await untilOpenSubscriptions(other, 2); // both subscriptions live

      const revokedAt = Date.now();
      await admin().request(RevokeTokenDocument, { id }); // revoked through the first server
      await expect(withTimeout(wsStream.next(), 1_000, 'websocket subscription outlived its token')).rejects.toSatisfy(endedUnauthenticated);
      const text = await withTimeout(sseText, 1_000, 'SSE subscription outlived its token');
      expect(text).toContain('UNAUTHENTICATED');
      expect(Date.now() - revokedAt).toBeLessThan(1_000);
      expect(await errorCode(onOther.request(LatestEventIdDocument))).toBe('UNAUTHENTICATED');
      expect(await errorCode(as(secret).request(LatestEventIdDocument))).toBe('UNAUTHENTICATED');
      expect(await errorCode(admin().request(RevokeTokenDocument, { id: 'tok_unknown' }))).toBe('NOT_FOUND');
    } finally {
      await other.stop();
    }
  });

  it('revoking a token closes every WebSocket connection it opened (4401), on every server, subscriptions or not', async () => {
    const other = await startTestNode(registry.database.url, { SWITCHBOARD_ADMIN_TOKEN: ADMIN });
    const sockets: Awaited<ReturnType<typeof openGraphQLSocket>>[] = [];
    try {
      const { id, secret } = await token({ name: 'connected', scopes: ['READ'] });
      const { secret: bystander } = await token({ name: 'bystander', scopes: ['READ'] });
      // Connections with no subscription: only the connection-level close can end them.
      const [here, there, unrelated] = await Promise.all([
        openGraphQLSocket(registry.node.url, secret),
        openGraphQLSocket(other.url, secret),
        openGraphQLSocket(other.url, bystander),
      ]);
      sockets.push(here, there, unrelated);

      await admin().request(RevokeTokenDocument, { id }); // revoked through the first server
      for (const socket of [here, there]) {
        expect(await withTimeout(socket.closed, 2_000, 'connection outlived its token')).toMatchObject({
          code: 4401,
          reason: expect.stringMatching(/revoked/),
        });
      }
      expect(unrelated.socket.readyState).toBe(unrelated.socket.OPEN);
    } finally {
      await Promise.all(sockets.map((socket) => socket.close()));
      await other.stop();
    }
  });

  it('an expired token stops working, subscriptions included', async () => {
    const { secret } = await token({ name: 'expiring', scopes: ['READ'], expiresIn: '1500ms' });
    const client = as(secret);
    const stream = client.subscribe(OnEventsDocument, {});
    expect((await client.request(LatestEventIdDocument)).latestEventId).toBeDefined();
    await expect(withTimeout(stream.next(), 3_000, 'subscription outlived its token')).rejects.toSatisfy(endedUnauthenticated);
    expect(await errorCode(as(secret).request(LatestEventIdDocument))).toBe('UNAUTHENTICATED');
  });
});

describe('audit', () => {
  it('every change made through the API records who made it', async () => {
    const { id } = await token({ name: 'ci-pipeline', scopes: ['WRITE'] }).then(async (created) => {
      await as(created.secret).request(RegisterServiceDocument, { input: instance({ id: 'audited-1' }) });
      return created;
    });
    await admin().request(SetConfigDocument, { key: 'audit.key', value: true });
    const { events } = await admin().request(EventsDocument, { first: 1000 });
    expect(events.find((event) => (event.data as { id?: string }).id === 'audited-1')!.actor).toEqual({ id, name: 'ci-pipeline' });
    expect(events.find((event) => (event.data as { key?: string }).key === 'audit.key')!.actor).toEqual({ id: 'admin', name: 'admin' });
    expect(events.find((event) => event.type === 'token.created')!.actor).toEqual({ id: 'admin', name: 'admin' });
  });

  it('registrations coalesced into shared transactions each keep their own actor', async () => {
    const agents = await Promise.all(['agent-a', 'agent-b', 'agent-c'].map((name) => token({ name, scopes: ['WRITE'] })));
    const { latestEventId } = await admin().request(LatestEventIdDocument);
    // 150 concurrent registrations from three tokens, some of them repeating an id.
    const calls = Array.from({ length: 150 }, (_, index) => ({ agent: agents[index % 3]!, id: `coalesced-${index % 120}`, index }));
    const results = await Promise.all(
      calls.map(({ agent, id, index }) => as(agent.secret).request(RegisterServiceDocument, { input: instance({ id, port: 1000 + index }) })),
    );
    expect(results.map((result) => result.registerService.id)).toEqual(calls.map((call) => call.id));

    const rows = await registry.database.sql<{ id: string; port: number; actor: { id: string } }[]>`
      select e.data->>'id' as id, (e.data->'instance'->>'port')::int as port, e.actor
      from events e where e.id > ${latestEventId} and e.type = 'service.registered' order by e.id`;
    // One event per registration (each repeat changed the port), each with its caller's token…
    expect(rows).toHaveLength(150);
    for (const row of rows) {
      const call = calls.find((candidate) => candidate.id === row.id && 1000 + candidate.index === row.port)!;
      expect(row.actor.id).toBe(call.agent.id);
    }
    // …and fewer transactions than registrations (rows written by one transaction share its now()).
    const [stored] = await registry.database.sql`
      select count(*)::int as n, count(distinct last_heartbeat_at)::int as transactions from services where id like 'coalesced-%'`;
    expect(stored!['n']).toBe(120);
    expect(stored!['transactions']).toBeLessThan(120);
  });
});

describe('the open server', () => {
  let open: TestNode;
  beforeAll(async () => {
    open = await startTestNode(registry.database.url);
  });
  afterAll(async () => {
    await open?.stop();
  });

  it('runs without tokens when no admin token is set, as "anonymous"', async () => {
    const client = registry.clients.create(open.url);
    await client.request(RegisterServiceDocument, { input: instance({ id: 'anonymous-1' }) });
    const { events } = await client.request(EventsDocument, { first: 1000 });
    expect(events.find((event) => (event.data as { id?: string }).id === 'anonymous-1')!.actor).toEqual({ id: 'anonymous', name: 'anonymous' });
  });
});
