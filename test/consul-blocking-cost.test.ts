import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestNode, type TestNode } from './support/nodes.js';
import { startStatementProxy, type StatementProxy } from './support/statement-proxy.js';
import { feedWaiters, feedWaitersReach } from './support/feed-waiters.js';
import { sleep } from './support/wait.js';

// A blocked Consul query waits on the in-process event feed: holding many of them open must
// cost the database nothing. The server reaches PostgreSQL through a proxy that counts every
// statement it sends, so the count is exact and immediate.
const ADMIN = 'consul-blocking-cost-admin-token-0123456789';
const BLOCKED = 100;
const HOLD_MS = 1_000;

let database: TestDatabase;
let proxy: StatementProxy;
let node: TestNode;
let base: string;

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startStatementProxy(database.url);
  // Health checks and the expiry sweep are background work of their own; quieter windows make a
  // stray statement stand out. The feed's fallback poll (every 5 s) stays.
  node = await startTestNode(proxy.url, { SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_HEALTH_WORKER: 'false', SWITCHBOARD_EXPIRY_SWEEP: '60s' });
  base = `http://127.0.0.1:${node.port}`;
});

afterAll(async () => {
  await node?.stop();
  await proxy?.stop();
  await database?.drop();
});

const headers = { 'x-consul-token': ADMIN };

async function register(id: string): Promise<void> {
  const response = await fetch(`${base}/v1/agent/service/register`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ ID: id, Name: 'watched', Address: '10.7.0.1', Port: 8080 }),
  });
  expect(response.status).toBe(200);
}

/** How many times each statement ran, for a failure message. */
function tally(texts: string[]): string {
  const runs = new Map<string, number>();
  for (const text of texts) runs.set(text, (runs.get(text) ?? 0) + 1);
  return [...runs].map(([text, count]) => `${count}× ${text}`).join('; ') || 'none';
}

/** The statements the server sends during `ms`. */
async function statementsDuring(ms: number): Promise<string[]> {
  const before = proxy.statements;
  await sleep(ms); // time passing is the subject: what the server sends over a window where nothing happens
  return proxy.texts.slice(before);
}

it('holds blocked queries without a database statement, then answers them all on a change', async () => {
  await register('watched-1');
  const first = await fetch(`${base}/v1/health/service/watched?passing`, { headers });
  const index = Number(first.headers.get('x-consul-index'));
  await first.text();
  expect(proxy.statements).toBeGreaterThan(0); // the server's statements do go through the proxy

  // Background work alone, over a window as long as the one measured below.
  const background = await statementsDuring(HOLD_MS);

  const waiting = feedWaiters(node);
  const leave = new AbortController();
  let answeredEarly = 0;
  const blocked = Array.from({ length: BLOCKED }, () =>
    fetch(`${base}/v1/health/service/watched?passing&index=${index}&wait=1m`, { headers, signal: leave.signal }).then(async (response) => {
      answeredEarly += 1;
      return { index: Number(response.headers.get('x-consul-index')), body: (await response.json()) as { Service: { ID: string } }[] };
    }),
  );
  try {
    await feedWaitersReach(node, waiting + BLOCKED); // every request has reached the server and waits
    const whileBlocked = await statementsDuring(HOLD_MS);
    expect(answeredEarly, 'no blocked query answers before a change').toBe(0);
    // Polling the database, even once per blocked query over the window, would add BLOCKED statements.
    expect(
      whileBlocked.length,
      `statements while ${BLOCKED} queries were blocked: ${tally(whileBlocked)}; background alone: ${tally(background)}`,
    ).toBeLessThanOrEqual(background.length + 2);

    const beforeWrite = proxy.statements;
    await register('watched-2');
    expect(proxy.statements, 'the write is counted, so a quiet window is not a blind one').toBeGreaterThan(beforeWrite);
    const answers = await Promise.all(blocked);
    expect(answers.map((answer) => answer.index > index)).toEqual(Array.from({ length: BLOCKED }, () => true));
    expect(answers[0]!.body.map((entry) => entry.Service.ID).sort()).toEqual(['watched-1', 'watched-2']);
  } finally {
    leave.abort();
    await Promise.allSettled(blocked);
  }
});
