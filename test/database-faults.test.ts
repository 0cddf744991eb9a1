import { request } from 'node:http';
import type { Socket } from 'node:net';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LatestEventIdDocument, OnServiceChangedDocument } from '@switchboard/client';
import { clientFactory, take } from './support/client.js';
import { ask, inDatabase, readiness, untilOk, type Answer } from './support/faults.js';
import { spawnNode, type NodeProcess } from './support/nodes.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { untilPeerHasRead } from './support/tcp.js';
import { eventually, sleep } from './support/wait.js';

/**
 * Two `switchboard serve` processes on a PostgreSQL of the test's own, which the tests restart,
 * stop and freeze under them (never the server other tests share).
 */
const REQUEST_TIMEOUT_MS = 2_000;
// Short: each SIGTERM test below waits it out (PostgreSQL away, the pool cannot close cleanly).
const SHUTDOWN_TIMEOUT_MS = 1_500;

const REGISTER = 'mutation ($input: ServiceDefinitionInput!) { registerService(input: $input) { id } }';
const SET_CONFIG = 'mutation ($key: String!, $value: JSON!) { setConfig(key: $key, value: $value) { version } }';
const PUBLISH = 'mutation ($input: EventInput!) { publishEvent(input: $input) { id } }';

let pg: PrivatePostgres;
let a: NodeProcess;
let b: NodeProcess;
const clients = clientFactory();

beforeAll(async () => {
  pg = await startPrivatePostgres();
  const env = {
    DATABASE_URL: pg.url,
    SWITCHBOARD_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
    SWITCHBOARD_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms`,
    // Longer than any freeze below: a connection opened while PostgreSQL is frozen completes when it
    // thaws (instead of timing out), so a write started then would be applied unless it is refused.
    SWITCHBOARD_DB_CONNECT_TIMEOUT: '10s',
  };
  [a, b] = await Promise.all([spawnNode(env), spawnNode(env)]);
}, 120_000);

afterAll(async () => {
  await clients.closeAll();
  await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
  await pg?.dispose();
});

// Each test starts with PostgreSQL up and both servers ready, whatever the previous test left.
beforeEach(async () => {
  await pg.start();
  for (const node of [a, b])
    if (alive(node) && !node.child.killed) await untilOk(async () => ({ ok: (await readiness(node.url)).status === 200, ms: 0 }), 10_000);
}, 30_000);

function alive(node: NodeProcess): boolean {
  return node.child.exitCode === null && node.child.signalCode === null;
}

type Write = { kind: 'register' | 'config' | 'event'; id: string; answer: Answer };

/** Writer loops on one server until `running()` turns false, each write with its own id. */
async function writeLoops(node: NodeProcess, name: string, loops: number, running: () => boolean, writes: Write[]): Promise<void> {
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let i = 0; running(); i++) {
        const id = `${name}-${loop}-${i}`;
        const kind = (['register', 'config', 'event'] as const)[i % 3]!;
        const answer =
          kind === 'register'
            ? await ask(node.url, REGISTER, { input: { id, name: 'restarted', version: '1.0.0', address: '10.0.0.1', port: 80 } })
            : kind === 'config'
              ? await ask(node.url, SET_CONFIG, { key: id, value: i })
              : await ask(node.url, PUBLISH, { input: { type: 'fault.tick', source: 'faults', data: { id } } });
        writes.push({ kind, id, answer });
        // A writer's pause after a refusal (pacing, not a wait for an event): no hot loop while PostgreSQL is away.
        if (!answer.ok) await sleep(20);
      }
    }),
  );
}

/** How many events each write left behind (0 if not applied). */
async function eventsPerWrite(writes: Write[]): Promise<Map<string, number>> {
  const ids = writes.map((write) => write.id);
  return inDatabase(pg.url, async (sql) => {
    const rows = await sql<{ id: string; count: number }[]>`
      select coalesce(data->>'key', data->>'id') as id, count(*)::int as count
      from events
      where (type = 'service.registered' and data->>'id' = any(${ids}))
         or (type = 'config.changed' and data->>'key' = any(${ids}))
         or (type = 'fault.tick' and data->>'id' = any(${ids}))
      group by 1`;
    return new Map(rows.map((row) => [row.id, row.count]));
  });
}

async function storedRows(writes: Write[]): Promise<Set<string>> {
  const ids = writes.map((write) => write.id);
  return inDatabase(pg.url, async (sql) => {
    const services = await sql<{ id: string }[]>`select id from services where id = any(${ids})`;
    const configs = await sql<{ id: string }[]>`select key as id from config_entries where key = any(${ids})`;
    return new Set([...services, ...configs].map((row) => row.id));
  });
}

/** Resolves once `count` more writes than now are acknowledged: the load runs (again) against PostgreSQL. */
async function acknowledgedMore(writes: Write[], count: number): Promise<void> {
  const from = writes.length;
  await eventually(() => (writes.slice(from).filter((write) => write.answer.ok).length >= count ? true : undefined), 30_000);
}

describe('PostgreSQL restarted under write load', () => {
  it('five restarts: both servers stay up and serve after each; answers are success or UNAVAILABLE; every acknowledged write is stored once', async () => {
    const writes: Write[] = [];
    let running = true;
    const load = Promise.all([writeLoops(a, 'a', 8, () => running, writes), writeLoops(b, 'b', 8, () => running, writes)]);
    const recoveries: number[] = [];
    try {
      for (let restart = 1; restart <= 5; restart++) {
        await acknowledgedMore(writes, 20); // under load: writes are being served when PostgreSQL goes
        await pg.restart();
        for (const node of [a, b]) {
          const probe = `probe-${restart}-${node === a ? 'a' : 'b'}`;
          recoveries.push(await untilOk(() => ask(node.url, SET_CONFIG, { key: probe, value: restart }), 10_000));
          expect(alive(node), `server ${node === a ? 'A' : 'B'} died at restart ${restart}`).toBe(true);
        }
      }
      await acknowledgedMore(writes, 20); // and served again after the last restart
    } finally {
      running = false;
      await load;
    }

    expect(alive(a) && alive(b)).toBe(true);
    // The driver can leave a connection failure's promise unhandled during a restart: the server logs it
    // as a warning and carries on (src/cli/run.ts). Anything unhandled at error level or above is a bug.
    const unhandled = [...a.logs, ...b.logs].filter((entry) => /uncaught|unhandled/i.test(String(entry['msg'])) && Number(entry['level']) >= 50);
    expect(unhandled).toEqual([]);
    // Writes served again within moments of PostgreSQL being back (the driver's reconnect backoff once made it seconds).
    expect(Math.max(...recoveries)).toBeLessThan(3_000);

    const acknowledged = writes.filter((write) => write.answer.ok);
    const refused = writes.filter((write) => !write.answer.ok);
    expect(acknowledged.length).toBeGreaterThan(100);
    expect(refused.length).toBeGreaterThan(0); // the restarts did hit the load

    const perWrite = await eventsPerWrite(writes);
    const stored = await storedRows(writes);
    const lost = acknowledged.filter((write) => perWrite.get(write.id) !== 1 || (write.kind !== 'event' && !stored.has(write.id)));
    expect(lost.map((write) => [write.id, perWrite.get(write.id) ?? 0])).toEqual([]);

    // A refusal that does not say the outcome is unknown means "not applied".
    const appliedAnyway = refused.filter((write) => write.answer.outcome !== 'unknown' && (perWrite.get(write.id) ?? 0) > 0);
    expect.soft(appliedAnyway.map((write) => [write.id, write.answer.code])).toEqual([]);

    // Never INTERNAL: a database that is away is UNAVAILABLE.
    const codes = new Map<string, number>();
    for (const write of refused) codes.set(write.answer.code!, (codes.get(write.answer.code!) ?? 0) + 1);
    console.info(
      `restarts: ${acknowledged.length} writes acknowledged, refused ${JSON.stringify(Object.fromEntries(codes))}, recovery ${recoveries.map((ms) => Math.round(ms)).join('/')} ms`,
    );
    expect(Object.fromEntries(codes)).toEqual({ UNAVAILABLE: refused.length });
  }, 120_000);
});

describe('PostgreSQL stopped for five seconds', () => {
  it('readiness says 503 at once without driver text, requests fail fast, and the feed catches up after', async () => {
    const watcher = clients.create(b.url);
    const { latestEventId } = await watcher.request(LatestEventIdDocument);
    const changes = watcher.subscribe(OnServiceChangedDocument, { name: 'after-outage', after: latestEventId });
    // The subscription is live (replayed and waiting) before PostgreSQL goes.
    await untilOk(
      () => ask(a.url, REGISTER, { input: { id: 'after-outage-0', name: 'after-outage', version: '1.0.0', address: '10.0.0.2', port: 80 } }),
      5_000,
    );
    expect((await take(changes, 1))[0]!.serviceChanged).toMatchObject({ serviceId: 'after-outage-0' });

    await pg.stop();
    const stoppedAt = performance.now();

    const ready = await readiness(a.url);
    expect(ready).toMatchObject({ status: 503, body: { status: 'unavailable', reason: 'database unreachable' } });
    expect(ready.ms).toBeLessThan(1_000);

    const write = await ask(a.url, SET_CONFIG, { key: 'during-outage', value: 1 });
    expect.soft(write).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
    expect(write.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 500);
    const read = await ask(b.url, '{ config(key: "during-outage") { value } }');
    expect.soft(read).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
    expect(read.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 500);

    // The outage itself: time passing with PostgreSQL away (the driver's reconnect backoff grows meanwhile).
    await sleep(5_000 - (performance.now() - stoppedAt));
    await pg.start();
    const startedAt = performance.now();

    await untilOk(
      () => ask(a.url, REGISTER, { input: { id: 'after-outage-1', name: 'after-outage', version: '1.0.0', address: '10.0.0.2', port: 80 } }),
      5_000,
    );
    const [change] = await take(changes, 1, 5_000);
    expect(change!.serviceChanged).toMatchObject({ kind: 'REGISTERED', serviceId: 'after-outage-1' });
    // The other server's feed heard of it promptly: its LISTEN connection and catch-up came back.
    const caughtUpMs = performance.now() - startedAt;
    console.info(
      `outage: /readyz ${Math.round(ready.ms)} ms, write ${Math.round(write.ms)} ms, read ${Math.round(read.ms)} ms; after start, seen on the other server in ${Math.round(caughtUpMs)} ms`,
    );
    expect(caughtUpMs).toBeLessThan(3_000);
    // Ready again within a probe or two: the first check after the restart may still meet a pooled connection
    // the outage broke (seen once under CI load), which the driver then replaces.
    for (const node of [a, b]) {
      const readyAgain = await eventually(async () => ((await readiness(node.url)).status === 200 ? true : undefined), 3_000, 100);
      expect(readyAgain).toBe(true);
    }
    await changes.return!();
  }, 60_000);
});

describe('PostgreSQL frozen (connections open, no answers)', () => {
  /**
   * Sets each key to "before", freezes PostgreSQL for `freezeMs` while `during` sends writes that
   * must not be applied, then sets each key to "newer" and returns what each key went through.
   */
  async function writesAcrossFreeze(keys: string[], freezeMs: number, during: () => Promise<void>) {
    for (const key of keys) await untilOk(() => ask(a.url, SET_CONFIG, { key, value: 'before' }), 10_000);
    // Open connections in both pools first, so the writes below are sent at once and hang.
    for (const node of [a, b]) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => untilOk(() => ask(node.url, SET_CONFIG, { key: `warm-${i}`, value: i }), 10_000)));
    }
    pg.pause();
    const frozenAt = performance.now();
    try {
      await during();
      // The freeze itself: time passing with PostgreSQL answering nothing.
      await sleep(freezeMs - (performance.now() - frozenAt));
    } finally {
      pg.resume();
    }
    for (const key of keys) await untilOk(() => ask(a.url, SET_CONFIG, { key, value: 'newer' }), 10_000);
    await sleep(1_000); // nothing may land meanwhile: time for a late write to land, were one still coming
    return inDatabase(pg.url, async (sql) => {
      const events = await sql<{ key: string; value: unknown }[]>`
        select data->>'key' as key, data->'newValue' as value from events
        where type = 'config.changed' and data->>'key' = any(${keys}) order by id`;
      const entries = await sql<{ key: string; value: unknown }[]>`select key, value from config_entries where key = any(${keys})`;
      return {
        events: Object.fromEntries(keys.map((key) => [key, events.filter((event) => event.key === key).map((event) => event.value)])),
        values: Object.fromEntries(entries.map((entry) => [entry.key, entry.value])),
      };
    });
  }

  const untouched = (keys: string[]) => ({
    events: Object.fromEntries(keys.map((key) => [key, ['before', 'newer']])),
    values: Object.fromEntries(keys.map((key) => [key, 'newer'])),
  });

  // One key per write: two late writes to one key would also fail on each other, and hide the fault.
  it('a write whose client went away (HTTP or WebSocket) is not applied when PostgreSQL answers again, before its deadline', async () => {
    const keys = ['gone-http', 'gone-socket'];
    // PostgreSQL answers again before the server's deadline: only the disconnect can stop these.
    const history = await writesAcrossFreeze(keys, REQUEST_TIMEOUT_MS * 0.6, async () => {
      const overHttp = ask(a.url, SET_CONFIG, { key: 'gone-http', value: 'abandoned' }, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS * 0.2) });
      const socketClient = createClient({ url: b.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
      const overSocket = new Promise<void>((resolve) => {
        socketClient.subscribe(
          { query: SET_CONFIG, variables: { key: 'gone-socket', value: 'abandoned' } },
          { next: () => {}, error: () => resolve(), complete: () => resolve() },
        );
      });
      await expect(overHttp).rejects.toThrow();
      await socketClient.dispose();
      await overSocket;
    });
    expect(history).toEqual(untouched(keys));
  }, 60_000);

  it('a write whose deadline passed before its COMMIT is answered UNAVAILABLE, outcome not_applied, and not applied when PostgreSQL answers again', async () => {
    const keys = ['timed-out'];
    // `during` returns once the deadline's answer came: the freeze has outlasted the deadline by then.
    const history = await writesAcrossFreeze(keys, REQUEST_TIMEOUT_MS, async () => {
      const timedOut = await ask(b.url, SET_CONFIG, { key: 'timed-out', value: 'timed out' });
      expect(timedOut).toMatchObject({ ok: false, code: 'UNAVAILABLE', outcome: 'not_applied' });
      expect(timedOut.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 500);
    });
    expect(history).toEqual(untouched(keys));
  }, 60_000);
});

describe('tokens while PostgreSQL is stopped', () => {
  it('a request whose token must be looked up is answered UNAVAILABLE at once, over HTTP and WebSocket', async () => {
    const admin = 'fault-admin-token-0123456789';
    const node = await spawnNode({ DATABASE_URL: pg.url, SWITCHBOARD_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`, SWITCHBOARD_ADMIN_TOKEN: admin });
    try {
      const created = await ask(node.url, 'mutation { createToken(input: { name: "faults", scopes: [READ] }) { token } }', {}, { token: admin });
      const token = (created.data?.['createToken'] as { token: string }).token;
      await pg.stop();

      const overHttp = await ask(node.url, '{ __typename }', {}, { token });
      expect(overHttp).toMatchObject({ ok: false, code: 'UNAVAILABLE', status: 503 });
      expect(overHttp.ms).toBeLessThan(1_000);

      const socketClient = createClient({
        url: node.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${token}` },
      });
      const closed = await new Promise<unknown>((resolve) => {
        socketClient.subscribe({ query: '{ __typename }' }, { next: () => {}, error: resolve, complete: () => resolve(undefined) });
      });
      await socketClient.dispose();
      expect(closed).toMatchObject({ code: 1013 });
    } finally {
      await node.stop('SIGKILL');
    }
  }, 60_000);
});

/**
 * A GraphQL POST on a connection of its own. Resolves once the server has read all of it (it is in
 * flight), with `answered`: its status, or its error (the server may close the connection instead).
 */
async function sendInFlight(url: string, query: string, variables: Record<string, unknown>): Promise<{ answered: Promise<unknown> }> {
  const body = JSON.stringify({ query, variables });
  const sent = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  const answered = new Promise<unknown>((resolve) => {
    sent.on('response', (response) => {
      response.on('error', resolve).on('end', () => resolve(response.statusCode));
      response.resume();
    });
    sent.on('error', resolve);
  });
  const socket = new Promise<Socket>((resolve) => sent.once('socket', resolve));
  await new Promise<void>((resolve) => sent.end(body, resolve));
  await untilPeerHasRead(await socket);
  return { answered };
}

describe('SIGTERM while PostgreSQL is away', () => {
  // The signal ends the process (exit code, not killed) within the shutdown timeout; a little slack for process exit.
  const withinShutdownTimeout = async (node: NodeProcess) => {
    const started = performance.now();
    const code = await node.stop('SIGTERM');
    expect(performance.now() - started).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1_000);
    expect(code).not.toBeNull();
  };

  it('a server exits within its shutdown timeout while PostgreSQL is frozen, a request in flight', async () => {
    pg.pause();
    try {
      const inFlight = await sendInFlight(a.url, SET_CONFIG, { key: 'at-shutdown', value: 1 });
      await withinShutdownTimeout(a);
      await inFlight.answered;
    } finally {
      pg.resume();
    }
  }, 30_000);

  it('a server exits within its shutdown timeout while PostgreSQL is stopped', async () => {
    await pg.stop();
    await withinShutdownTimeout(b);
  }, 30_000);
});
