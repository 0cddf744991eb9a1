import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { untilOpenSubscriptions } from './support/subscriptions.js';
import { sleep, withTimeout } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';

const registry = useRegistryNode({ SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' });

interface Message {
  type: string;
  id?: string;
  payload?: unknown;
}

/** A graphql-transport-ws connection driven by hand, so anything can be sent; every message is queued. */
async function rawSocket() {
  const socket = new WebSocket(registry.node.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const received: Message[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)) as Message);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });

  /** Resolves with the first queued message matching `match` (waiting for it if need be). */
  const next = (match: (message: Message) => boolean, timeoutMs = 5_000) =>
    withTimeout(
      new Promise<Message>((resolve, reject) => {
        const look = () => {
          const index = received.findIndex(match);
          if (index >= 0) resolve(received.splice(index, 1)[0]!);
          else waiters.push(look);
        };
        look();
        void closed.then(({ code, reason }) => reject(new Error(`connection closed with ${code} ${reason}`)));
      }),
      timeoutMs,
      'no such message',
    );
  const send = (message: Message) => socket.send(JSON.stringify(message));
  const subscribe = (id: string, query: string, variables?: Record<string, unknown>) => send({ type: 'subscribe', id, payload: { query, variables } });

  send({ type: 'connection_init', payload: {} });
  await next((message) => message.type === 'connection_ack');
  return { socket, closed, next, send, subscribe, isOpen: () => socket.readyState === WebSocket.OPEN };
}

async function post(body: string | Uint8Array) {
  const response = await fetch(registry.node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: response.status, json: (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] } };
}

const publish = (type: string, data: Record<string, unknown> = {}) =>
  post(
    JSON.stringify({ query: 'mutation P($input: EventInput!) { publishEvent(input: $input) { id } }', variables: { input: { type, source: 'test', data } } }),
  );

async function written(keyPrefix: string, eventType: string) {
  const [row] = await registry.database.sql<{ configs: number; events: number }[]>`
    select (select count(*) from config_entries where key like ${`${keyPrefix}%`})::int as configs,
           (select count(*) from events where type = ${eventType} or data::text like ${`%${keyPrefix}%`})::int as events`;
  return row!;
}

const LIVE = 'subscription L($types: [String!]) { events(types: $types) { id type } }';
const nested = (depth: number): string => (depth === 0 ? 'id' : `id resolvedDependencies { ${nested(depth - 1)} }`);

const overLimit: [string, string, RegExp][] = [
  ['depth', `{ components { ${nested(14)} } }`, /depth/i],
  ['aliases', `{ ${Array.from({ length: 101 }, (_, i) => `a${i}: latestEventId`).join(' ')} }`, /alias/i],
  ['directives', `{ latestEventId ${'@include(if: true) '.repeat(21)} }`, /directive/i],
  ['cost', `{ ${['a', 'b'].map((alias) => `${alias}: events(first: 1000) { id type source data actor { id name } timestamp }`).join(' ')} }`, /cost/i],
];

describe('WebSocket: a document over a limit is that operation’s error, not the connection’s end', () => {
  it('depth, aliases, directives, cost and a NUL each answer BAD_USER_INPUT; the live subscription beside them keeps delivering', async () => {
    await untilOpenSubscriptions(registry.node, 0);
    const ws = await rawSocket();
    ws.subscribe('live', LIVE, { types: ['hostile.limits'] });
    await untilOpenSubscriptions(registry.node, 1);

    for (const [name, query, message] of overLimit) {
      ws.subscribe(name, query);
      const answer = await ws.next((m) => m.id === name);
      expect(answer.type, name).toBe('error');
      const [error] = answer.payload as { message: string; extensions: { code: string } }[];
      expect(error!.extensions.code, name).toBe('BAD_USER_INPUT');
      expect(error!.message).toMatch(message);
    }
    // A plugin that refuses at execution (text PostgreSQL cannot store) must not end the connection either.
    ws.subscribe('nul', 'mutation S($v: JSON!) { setConfig(key: "hostile.nul", value: $v) { version } }', { v: 'a\u0000b' });
    // An execution result with errors (a `next`, then `complete`) is also this operation's answer only.
    const nul = await ws.next((m) => m.id === 'nul');
    expect(nul).toMatchObject({ type: 'next', payload: { errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] } });

    expect(ws.isOpen()).toBe(true);
    await publish('hostile.limits');
    const delivered = await ws.next((m) => m.id === 'live');
    expect(delivered).toMatchObject({ type: 'next', payload: { data: { events: { type: 'hostile.limits' } } } });
    expect(await written('hostile.nul', 'none')).toEqual({ configs: 0, events: 0 });
    ws.socket.close();
  });

  it('per connection: exactly SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_CONNECTION (3) are served, the next is LIMIT_EXCEEDED', async () => {
    await untilOpenSubscriptions(registry.node, 0);
    const ws = await rawSocket();
    for (const id of ['s1', 's2', 's3']) ws.subscribe(id, LIVE, { types: ['hostile.per-connection'] });
    await untilOpenSubscriptions(registry.node, 3);
    ws.subscribe('s4', LIVE, { types: ['hostile.per-connection'] });
    const refused = await ws.next((m) => m.id === 's4');
    expect(refused.type).toBe('error');
    expect((refused.payload as { extensions: { code: string } }[])[0]!.extensions.code).toBe('LIMIT_EXCEEDED');

    await publish('hostile.per-connection');
    for (const id of ['s1', 's2', 's3']) {
      expect(await ws.next((m) => m.id === id), id).toMatchObject({ type: 'next', payload: { data: { events: { type: 'hostile.per-connection' } } } });
    }
    ws.socket.close();
  });
});

describe('invalid UTF-8 is refused, never replaced with U+FFFD and stored', () => {
  const withBadBytes = (prefix: string) =>
    Buffer.concat([
      Buffer.from(`{"query":"mutation { setConfig(key: \\"${prefix}.config\\", value: \\"bad `),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(`\\") { version } publishEvent(input: { type: \\"${prefix}.event\\", source: \\"test\\", data: { } }) { id } }"}`),
    ]);

  it('HTTP: a body with invalid UTF-8 is 400 BAD_USER_INPUT and writes nothing', async () => {
    const result = await post(withBadBytes('utf8-http'));
    expect(result.status).toBe(400);
    expect(result.json.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.json.errors?.[0]?.message).toMatch(/UTF-8/);
    expect(await written('utf8-http', 'utf8-http.event')).toEqual({ configs: 0, events: 0 });
    // The same request, valid, goes through (the check refuses the bytes, not the operation).
    const valid = await post(withBadBytes('utf8-http').toString('utf8'));
    expect(valid.status).toBe(200);
    expect(await written('utf8-http', 'utf8-http.event')).toEqual({ configs: 1, events: 2 });
  });

  it.each([
    ['a text frame (ws refuses it)', false],
    ['a binary frame', true],
  ])('WebSocket: %s with invalid UTF-8 closes the connection with 1007 and writes nothing', async (_label, binary) => {
    const prefix = binary ? 'utf8-ws-binary' : 'utf8-ws-text';
    const ws = await rawSocket();
    const json =
      withBadBytes(prefix)
        .toString('latin1')
        .replace(/^\{"query":/, '{"type":"subscribe","id":"bad","payload":{"query":') + '}';
    ws.socket.send(Buffer.from(json, 'latin1'), { binary });
    expect((await withTimeout(ws.closed, 5_000, 'not closed')).code).toBe(1007);
    await sleep(200); // nothing may be written meanwhile: time for a late write to land, were one coming
    expect(await written(prefix, `${prefix}.event`)).toEqual({ configs: 0, events: 0 });
  });
});
