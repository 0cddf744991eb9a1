import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SettingsError, loadSettings } from '../src/settings.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { scrape, sumOf } from './support/metrics.js';
import { spawnNode, type NodeProcess } from './support/nodes.js';
import { untilPeerHasRead } from './support/tcp.js';
import { eventually, sleep, withTimeout } from './support/wait.js';

const MAX_CONNECTIONS = 20;
let database: TestDatabase;
let node: NodeProcess;

beforeAll(async () => {
  database = await createTestDatabase();
  node = await spawnNode({
    DATABASE_URL: database.url,
    SWITCHBOARD_HEADERS_TIMEOUT: '500ms',
    SWITCHBOARD_REQUEST_BODY_TIMEOUT: '1s',
    SWITCHBOARD_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
  });
});

afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

/** A raw TCP connection; resolves `answering` when the server sends its first bytes, `ended` with what it sent and when it closed. */
async function rawConnection() {
  const url = new URL(node.url);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const opened = Date.now();
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => {});
  const ended = new Promise<{ afterMs: number; received: string }>((resolve) =>
    socket.once('close', () => resolve({ afterMs: Date.now() - opened, received })),
  );
  const answering = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return { socket, ended, answering };
}

/** A one-off request on its own connection (no pooled keep-alive socket to hide a refusal). */
function probe(path = '/healthz'): Promise<number> {
  return new Promise((resolve, reject) => {
    request(new URL(path, node.url), { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    })
      .on('error', reject)
      .end();
  });
}

/** Until the server holds no subscription and no WebSocket (/metrics; a scrape refused at the connection cap is retried). */
async function noSubscriptionsOrSockets(): Promise<void> {
  await eventually(async () => {
    const samples = await scrape(new URL('/metrics', node.url).toString()).catch(() => undefined);
    if (!samples) return undefined;
    return sumOf(samples, 'switchboard_subscriptions_open') === 0 && sumOf(samples, 'switchboard_websocket_connections_open') === 0 ? true : undefined;
  }, 15_000);
}

async function trickle(socket: Socket, text: string, everyMs: number, until: Promise<unknown>) {
  let stopped = false;
  void until.then(() => (stopped = true));
  for (const char of text) {
    if (stopped) return;
    socket.write(char);
    await sleep(everyMs); // a slow client: the pace is the subject
  }
}

describe('slow clients are cut off', () => {
  it('a request whose body trickles in is answered 408 and closed after SWITCHBOARD_REQUEST_BODY_TIMEOUT (1s)', async () => {
    const { socket, ended } = await rawConnection();
    socket.write(`POST /graphql HTTP/1.1\r\nHost: ${new URL(node.url).host}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`);
    void trickle(socket, JSON.stringify({ query: '{ latestEventId }' }).padEnd(200), 100, ended);
    const { afterMs, received } = await withTimeout(ended, 6_000, 'still open after 6s');
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(afterMs).toBeGreaterThanOrEqual(900);
    expect(afterMs).toBeLessThan(3_000);
  });

  it('headers that trickle in are cut off after SWITCHBOARD_HEADERS_TIMEOUT (500ms)', async () => {
    const { socket, ended } = await rawConnection();
    void trickle(socket, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`, 50, ended);
    const { afterMs, received } = await withTimeout(ended, 6_000, 'still open after 6s');
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(afterMs).toBeGreaterThanOrEqual(400);
    expect(afterMs).toBeLessThan(2_500);
  });
});

describe('SWITCHBOARD_MAX_CONNECTIONS', () => {
  it('connections over the cap are refused while the open ones keep being served', async () => {
    const wsUrl = node.url.replace(/^http/, 'ws');
    const sockets: WebSocket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
      await new Promise<void>((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'connection_init' }));
      await new Promise((resolve) => socket.once('message', resolve));
      sockets.push(socket);
    }
    try {
      await expect(probe()).rejects.toThrow(/socket hang up|ECONNRESET/);

      // An open connection still answers.
      const answer = new Promise<{ type: string; payload: { data: unknown } }>((resolve) =>
        sockets[0]!.once('message', (data) => resolve(JSON.parse(String(data)))),
      );
      sockets[0]!.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ latestEventId }' } }));
      expect(await answer).toMatchObject({ type: 'next', payload: { data: { latestEventId: expect.anything() } } });

      // A closed one frees a place.
      const closed = new Promise((resolve) => sockets[0]!.once('close', resolve));
      sockets.shift()!.close();
      await closed;
      // Until the server has seen the close (a probe meanwhile is refused like the one above).
      const status = await eventually(() => probe().catch(() => undefined), 10_000);
      expect(status).toBe(200);
    } finally {
      for (const socket of sockets) socket.terminate();
    }
  });
});

describe('client disconnects are routine', () => {
  it('a churn of aborted bodies, dropped streams, reset sockets and refused frames logs nothing at error level, prints nothing to stderr', async () => {
    await noSubscriptionsOrSockets(); // the last test's sockets are gone: no churn is refused for the connection cap
    const host = new URL(node.url).host;
    const churn = async (i: number) => {
      // A body cut off half-way.
      const aborted = await rawConnection();
      aborted.socket.write(`POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"query":`);
      await untilPeerHasRead(aborted.socket); // the server is reading the body
      aborted.socket.resetAndDestroy();

      // A server-sent-events subscription dropped while streaming.
      const sse = await rawConnection();
      const body = JSON.stringify({ query: 'subscription { events(after: "0") { id type data } }' });
      sse.socket.write(
        `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      await withTimeout(sse.answering, 10_000, 'the event stream did not start'); // streaming
      if (i % 2 === 0) sse.socket.resetAndDestroy();
      else sse.socket.destroy();

      // A large answer the client stops reading (the server's writes hit EPIPE/ECONNRESET).
      const large = await rawConnection();
      const page = JSON.stringify({ query: '{ events(first: 1000) { id type source data timestamp } }' });
      large.socket.write(
        `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(page)}\r\n\r\n${page}`,
      );
      await withTimeout(large.answering, 10_000, 'no answer began'); // the server is writing the answer
      large.socket.resetAndDestroy();

      // A WebSocket that vanishes mid-subscription.
      const ws = new WebSocket(node.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      ws.on('error', () => {});
      await new Promise((resolve) => ws.once('open', resolve));
      const received = (type: string) =>
        new Promise((resolve) => ws.on('message', (data) => (JSON.parse(String(data)) as { type: string }).type === type && resolve(undefined)));
      const acknowledged = received('connection_ack');
      const streaming = received('next');
      ws.send(JSON.stringify({ type: 'connection_init' }));
      // A subscribe sent before the acknowledgement would be refused: the connection closed (4401), no subscription.
      await withTimeout(acknowledged, 10_000, 'the connection was not acknowledged');
      ws.send(JSON.stringify({ type: 'subscribe', id: 's', payload: { query: 'subscription { events(after: "0") { id } }' } }));
      await withTimeout(streaming, 10_000, 'the subscription did not stream'); // mid-subscription
      // Half of them leave with a frame ws refuses (invalid UTF-8 in a text frame: close 1007).
      if (i % 2 === 0) ws.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false });
      else ws.terminate();
    };
    // Something to stream: fifty events of 2 kB. (A one-word type, and then a document over the size
    // limit, were refused: that left nothing to stream. The padding goes as a variable.)
    const published = await fetch(node.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `mutation ($data: JSON!) { ${Array.from({ length: 50 }, (_, i) => `e${i}: publishEvent(input: { type: "churn.padding", source: "test", data: $data }) { id }`).join(' ')} }`,
        variables: { data: { pad: 'x'.repeat(2000) } },
      }),
    });
    expect(((await published.json()) as { errors?: unknown }).errors).toBeUndefined();
    const logged = node.logs.length;
    const printed = node.stderr().length;
    for (let round = 0; round < 4; round++) await Promise.all(Array.from({ length: 4 }, (_, i) => churn(round * 4 + i)));
    await noSubscriptionsOrSockets(); // the server has let go of everything the churn left behind...
    await sleep(300); // ...and logs nothing at error level meanwhile: time for a late line to arrive

    expect(await probe()).toBe(200);
    const errors = node.logs.slice(logged).filter((entry) => Number(entry['level']) >= 50);
    expect(errors.map((entry) => `${String(entry['msg'])}: ${JSON.stringify(entry['err'] ?? '').slice(0, 200)}`)).toEqual([]);
    // Nothing printed around the JSON logs either (graphql-ws's own adapter console.error'ed socket errors).
    expect(node.stderr().slice(printed)).toBe('');
  });
});

describe('connection settings', () => {
  it('have bounded defaults, parse durations, and refuse nonsense', () => {
    expect(loadSettings({}).connections).toEqual({ headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000, maxConnections: 10_000 });
    expect(loadSettings({ SWITCHBOARD_HEADERS_TIMEOUT: '2s', SWITCHBOARD_REQUEST_BODY_TIMEOUT: '1m', SWITCHBOARD_MAX_CONNECTIONS: '50' }).connections).toEqual({
      headersTimeoutMs: 2_000,
      bodyTimeoutMs: 60_000,
      maxConnections: 50,
    });
    expect(() => loadSettings({ SWITCHBOARD_MAX_CONNECTIONS: '0' })).toThrow(SettingsError);
    expect(() => loadSettings({ SWITCHBOARD_REQUEST_BODY_TIMEOUT: 'forever' })).toThrow(SettingsError);
    expect(() => loadSettings({ SWITCHBOARD_HEADERS_TIMEOUT: '1m', SWITCHBOARD_REQUEST_BODY_TIMEOUT: '30s' })).toThrow(/must not exceed/);
  });
});
