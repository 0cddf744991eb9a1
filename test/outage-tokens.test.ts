import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openGraphQLSocket } from './support/client.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { ask } from './support/faults.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { startTestNode, type TestNode } from './support/nodes.js';

/**
 * PostgreSQL unreachable (a proxy in front of it is cut): a token verified before the outage keeps
 * reading, on every adapter that authenticates, for SWITCHBOARD_TOKEN_OUTAGE_GRACE after its last
 * check; refusals already known stand; expiry goes by the clock; a token never seen is UNAVAILABLE.
 * Time is the subject: the clock (Date only) is moved, nothing sleeps.
 */
const ADMIN = 'outage-tokens-admin-0123456789';
const MINUTE = 60_000;
const GRACE_MS = 120 * MINUTE;

const CREATE_TOKEN = 'mutation ($input: TokenInput!) { createToken(input: $input) { id token } }';
const DISCOVER = '{ discoverServices(name: "outage-api") { id } }';

let database: TestDatabase;
let proxy: FaultProxy;
let node: TestNode;
const tokens = {} as Record<'reader' | 'expiring' | 'revoked' | 'unseen', string>;

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startFaultProxy(database.url);
  node = await startTestNode(proxy.url, {
    SWITCHBOARD_ADMIN_TOKEN: ADMIN,
    SWITCHBOARD_TOKEN_OUTAGE_GRACE: '2h',
    SWITCHBOARD_REQUEST_TIMEOUT: '2s',
    SWITCHBOARD_HEALTH_WORKER: 'false',
  });
  const admin = (query: string, variables: Record<string, unknown> = {}) => ask(node.url, query, variables, { token: ADMIN });
  const register = await admin('mutation { registerService(input: { id: "outage-api-1", name: "outage-api", address: "10.0.0.7", port: 8080 }) { id } }');
  expect(register.ok).toBe(true);
  for (const [name, expiresIn] of [
    ['reader', null],
    ['expiring', '1h'],
    ['revoked', null],
    ['unseen', null],
  ] as const) {
    const created = await admin(CREATE_TOKEN, { input: { name, scopes: ['READ'], expiresIn } });
    const { id, token } = (created.data as { createToken: { id: string; token: string } }).createToken;
    tokens[name] = token;
    if (name !== 'unseen') expect(await ask(node.url, DISCOVER, {}, { token })).toMatchObject({ ok: true }); // verified once
    if (name === 'revoked') {
      expect((await admin('mutation ($id: ID!) { revokeToken(id: $id) }', { id })).ok).toBe(true);
      await eventually(async () => ((await ask(node.url, DISCOVER, {}, { token })).code === 'UNAUTHENTICATED' ? true : undefined));
    }
  }
  await proxy.cut();
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  // Well past the one-second cache: every check below needs the database, which is gone.
  vi.setSystemTime(Date.now() + MINUTE);
});

afterAll(async () => {
  vi.useRealTimers();
  await proxy?.restore();
  await node?.stop();
  await proxy?.stop();
  await database?.drop();
});

const origin = () => new URL(node.url).origin;

async function get(path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const response = await fetch(`${origin()}${path}`, { headers });
  return { status: response.status, text: await response.text() };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('during an outage, within the grace', () => {
  it('a READ token verified before it keeps discovering: GraphQL over HTTP and WebSocket, Consul, /metrics, Prometheus SD', async () => {
    const token = tokens.reader;
    expect(await ask(node.url, DISCOVER, {}, { token })).toMatchObject({ ok: true, data: { discoverServices: [{ id: 'outage-api-1' }] } });

    const socket = await openGraphQLSocket(node.url, token);
    await socket.close();

    const catalog = await get('/v1/catalog/service/outage-api', { 'x-consul-token': token });
    expect(catalog.status).toBe(200);
    expect(JSON.parse(catalog.text)).toMatchObject([{ ServiceID: 'outage-api-1' }]);

    const metrics = await get('/metrics', bearer(token));
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^switchboard_database_up 0$/m);

    const targets = await get('/v1/sd/prometheus', bearer(token));
    expect(targets.status).toBe(200);
    expect(JSON.parse(targets.text)).toMatchObject([{ targets: ['10.0.0.7:8080'] }]);
  });

  it('a token revoked before it stays refused', async () => {
    const token = tokens.revoked;
    expect(await ask(node.url, DISCOVER, {}, { token })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED', status: 401 });
    expect((await get('/v1/catalog/service/outage-api', { 'x-consul-token': token })).status).toBe(403);
    expect((await get('/metrics', bearer(token))).status).toBe(401);
  });

  it('a token never verified is UNAVAILABLE, outcome not_applied, on every adapter', async () => {
    const token = tokens.unseen;
    expect(await ask(node.url, DISCOVER, {}, { token })).toMatchObject({ ok: false, code: 'UNAVAILABLE', outcome: 'not_applied', status: 503 });
    const metrics = await get('/metrics', bearer(token));
    expect(metrics.status).toBe(503);
    expect(JSON.parse(metrics.text)).toMatchObject({ errors: [{ extensions: { code: 'UNAVAILABLE', outcome: 'not_applied' } }] });
    expect((await get('/v1/catalog/service/outage-api', { 'x-consul-token': token })).status).toBe(503);
    await expect(openGraphQLSocket(node.url, token)).rejects.toThrow(/closed before connection_ack: 1013 UNAVAILABLE/);
  });

  it('a token that expires is refused by the clock, while one that does not still reads', async () => {
    vi.setSystemTime(Date.now() + 61 * MINUTE); // the expiring token's hour is over; the grace is not
    expect(await ask(node.url, DISCOVER, {}, { token: tokens.expiring })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect((await get('/v1/sd/prometheus', bearer(tokens.expiring))).status).toBe(403);
    expect(await ask(node.url, DISCOVER, {}, { token: tokens.reader })).toMatchObject({ ok: true });
  });
});

describe('during an outage, after the grace', () => {
  it('the verified state is no longer used: UNAVAILABLE, outcome not_applied', async () => {
    vi.setSystemTime(Date.now() + GRACE_MS);
    const token = tokens.reader;
    expect(await ask(node.url, DISCOVER, {}, { token })).toMatchObject({ ok: false, code: 'UNAVAILABLE', outcome: 'not_applied' });
    expect((await get('/metrics', bearer(token))).status).toBe(503);
    expect((await get('/v1/catalog/service/outage-api', { 'x-consul-token': token })).status).toBe(503);
    await expect(openGraphQLSocket(node.url, token)).rejects.toThrow(/1013/);
  });
});
