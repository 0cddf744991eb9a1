import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ComposeFlowDocument,
  CreateTokenDocument,
  EventsDocument,
  FlowChangedDocument,
  RegisterComponentDocument,
  type ComposeRequirements,
  type FlowChangedSubscription,
} from '@switchboard/client';
import { flowCatalogReads, flowCompositions } from '../src/registry/components/index.js';
import { clientFactory, errorCode, take, type SwitchboardClient } from './support/client.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { ask } from './support/faults.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { startTestNode, useRegistryNode } from './support/nodes.js';
import { withTimeout } from './support/wait.js';

// flowChanged at scale: every subscriber on a server shares one catalogue read per change and one
// computation per (flow, requirements); composeFlow's reads are shared but begin after the query
// arrives. Then the surface attacked: hostile input, subscription limits, tokens, the database gone.

const ADMIN = 'compose-scale-admin-0123456789';
const PER_CONNECTION = 5;
const PER_TOKEN = 12;
const registry = useRegistryNode({
  SWITCHBOARD_ADMIN_TOKEN: ADMIN,
  SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(PER_CONNECTION),
  SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_TOKEN: String(PER_TOKEN),
});
const admin = () => registry.clients.create(registry.node.url, ADMIN);

const chosen = (message: FlowChangedSubscription) => message.flowChanged.components.map((entry) => entry.component.id);

async function readToken(name: string): Promise<string> {
  return (await admin().request(CreateTokenDocument, { input: { name, scopes: ['READ'] } })).createToken.token;
}

async function componentEvents(client: SwitchboardClient): Promise<number> {
  return (await client.request(EventsDocument, { types: ['component.*'], first: 1000 })).events.length;
}

describe('flowChanged shares its work', () => {
  it('50 subscribers over 5 flows on one server: one catalogue read and one computation per group for a registration', async () => {
    // Ten subscribers per READ token (each on its own connection), two flows per token: sharing is not per principal.
    const flows = ['share-0', 'share-1', 'share-2', 'share-3', 'share-4'];
    const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => readToken(`share-reader-${i}`)));
    const subscribers = Array.from({ length: 50 }, (_, i) =>
      registry.clients.create(registry.node.url, tokens[i % tokens.length]).subscribe(FlowChangedDocument, { flow: flows[Math.floor(i / 10)]! }),
    );
    try {
      const firsts = await Promise.all(subscribers.map(async (stream) => (await take(stream, 1))[0]!));
      expect(firsts.every((message) => chosen(message).length === 0)).toBe(true);

      const reads = flowCatalogReads.count;
      const computations = flowCompositions.count;
      await admin().request(RegisterComponentDocument, { input: { type: 'STEP', name: 'share-step', version: '1.0.0', flows } });
      const pushes = await Promise.all(subscribers.map(async (stream) => (await take(stream, 1))[0]!));
      expect(pushes.map(chosen)).toEqual(subscribers.map(() => ['share-step@1.0.0']));
      // Not 50 and 50: every subscriber was woken by the same event and found the read it caused.
      expect(flowCatalogReads.count - reads).toBe(1);
      expect(flowCompositions.count - computations).toBe(flows.length);
    } finally {
      await Promise.all(subscribers.map((stream) => stream.return?.()));
    }
  });

  it('composeFlow queries arriving together share reads begun after they arrived', async () => {
    await admin().request(RegisterComponentDocument, { input: { type: 'STEP', name: 'burst-step', version: '1.0.0', flows: ['burst'] } });
    // Twenty fields of one request resolve at once: a deterministic burst.
    const fields = Array.from({ length: 20 }, (_, i) => `q${i}: composeFlow(flow: "burst") { components { component { id } } }`);
    const reads = flowCatalogReads.count;
    const answer = await ask(registry.node.url, `{ ${fields.join(' ')} }`, {}, { token: ADMIN });
    expect(Object.values(answer.data!)).toEqual(fields.map(() => ({ components: [{ component: { id: 'burst-step@1.0.0' } }] })));
    // The first starts a read; the other nineteen arrived while it ran (it may predate their writes), so they share the next.
    expect(flowCatalogReads.count - reads).toBe(2);
  });
});

describe('composeFlow reads its own writes across servers', () => {
  let database: TestDatabase;
  const clients = clientFactory();
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await clients.closeAll();
    await database?.drop();
  });

  it('a query on server B right after a registration on server A sees it, every time', async () => {
    const [a, b] = await Promise.all([startTestNode(database.url), startTestNode(database.url)]);
    try {
      const onA = clients.create(a.url);
      const onB = clients.create(b.url);
      // B's catalogue read is shared and may be cached: warm it, so a stale one is there to be (wrongly) used.
      await onB.request(ComposeFlowDocument, { flow: 'ryw' });
      const stream = onB.subscribe(FlowChangedDocument, { flow: 'ryw' });
      try {
        await take(stream, 1);
        for (let i = 1; i <= 20; i++) {
          await onA.request(RegisterComponentDocument, { input: { type: 'STEP', name: `ryw-${i}`, version: '1.0.0', flows: ['ryw'] } });
          const { composeFlow } = await onB.request(ComposeFlowDocument, { flow: 'ryw' });
          expect(composeFlow.components.length, `after registration ${i}`).toBe(i);
        }
      } finally {
        await stream.return?.();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('composeFlow and flowChanged attacked', () => {
  const requirements = (overrides: ComposeRequirements) => overrides;
  const hostile: [string, string, ComposeRequirements | undefined][] = [
    ['65 requirements', 'fine', requirements({ require: Array.from({ length: 65 }, (_, i) => `req-${i}`) })],
    ['100,000 requirements', 'fine', requirements({ require: Array.from({ length: 100_000 }, () => 'r') })],
    ['a 201-character flow name', 'f'.repeat(201), undefined],
    ['a 100,000-character flow name', 'f'.repeat(100_000), undefined],
    ['a NUL in the flow name', 'pay\u0000ments', undefined],
    ['an escape sequence in the flow name', 'pay\u001b[31mments', undefined],
    ['a newline in the flow name', 'pay\nments', undefined],
    ['a bad flowVersion range', 'fine', requirements({ flowVersion: '>>1' })],
    ['an overlong flowVersion', 'fine', requirements({ flowVersion: `^${'1'.repeat(300)}` })],
    ['a requirement with a bad range', 'fine', requirements({ require: ['charge@not-a-range'] })],
    ['a requirement with a control character', 'fine', requirements({ require: ['char\u0007ge'] })],
  ];

  it.each(hostile)('composeFlow refuses %s with BAD_USER_INPUT, reads nothing and changes nothing', async (_label, flow, requirements) => {
    const client = admin();
    const before = await componentEvents(client);
    const reads = flowCatalogReads.count;
    const answer = await ask(
      registry.node.url,
      'query ($flow: String!, $r: ComposeRequirements) { composeFlow(flow: $flow, requirements: $r) { complete } }',
      {
        flow,
        r: requirements ?? null,
      },
      { token: ADMIN },
    );
    expect(answer.code).toBe('BAD_USER_INPUT');
    // A sentence naming the field, not the input echoed back whole.
    expect(answer.message!.length).toBeLessThan(400);
    expect(flowCatalogReads.count).toBe(reads);
    expect(await componentEvents(client)).toBe(before);
  });

  it.each(hostile)('flowChanged refuses %s with BAD_USER_INPUT when subscribing', async (_label, flow, requirements) => {
    const reads = flowCatalogReads.count;
    const stream = admin().subscribe(FlowChangedDocument, { flow, requirements });
    try {
      await expect(withTimeout(stream.next(), 10_000, 'no answer')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    } finally {
      await stream.return?.();
    }
    expect(flowCatalogReads.count).toBe(reads);
  });

  it(`counts flowChanged against the ${PER_CONNECTION} subscriptions a connection may hold`, async () => {
    const client = admin();
    const streams = Array.from({ length: PER_CONNECTION }, (_, i) => client.subscribe(FlowChangedDocument, { flow: `limit-${i}` }));
    try {
      await Promise.all(streams.map((stream) => take(stream, 1)));
      const over = client.subscribe(FlowChangedDocument, { flow: 'limit-over' });
      try {
        await expect(withTimeout(over.next(), 10_000, 'no answer')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
      } finally {
        await over.return?.();
      }
    } finally {
      await Promise.all(streams.map((stream) => stream.return?.()));
    }
  });

  it(`counts flowChanged against the ${PER_TOKEN} subscriptions a token may hold on one server, across connections`, async () => {
    // A READ token: composition is a read.
    const token = await readToken('compose-reader');
    const connections = Array.from({ length: PER_TOKEN / 4 + 1 }, () => registry.clients.create(registry.node.url, token));
    const streams = connections
      .slice(0, -1)
      .flatMap((client, c) => Array.from({ length: 4 }, (_, i) => client.subscribe(FlowChangedDocument, { flow: `token-${c}-${i}` })));
    try {
      await Promise.all(streams.map((stream) => take(stream, 1)));
      const over = connections.at(-1)!.subscribe(FlowChangedDocument, { flow: 'token-over' });
      try {
        await expect(withTimeout(over.next(), 10_000, 'no answer')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
      } finally {
        await over.return?.();
      }
      // The READ token composes too.
      const { composeFlow } = await connections[0]!.request(ComposeFlowDocument, { flow: 'token-0-0' });
      expect(composeFlow.complete).toBe(true);
    } finally {
      await Promise.all(streams.map((stream) => stream.return?.()));
    }
  });

  it('refuses composeFlow and flowChanged without a token when the server has an admin token (UNAUTHENTICATED)', async () => {
    const query = await ask(registry.node.url, '{ composeFlow(flow: "anon") { complete } }');
    expect(query.code).toBe('UNAUTHENTICATED');
    // A WebSocket without a token is closed 4401 before any subscription; SSE without one is refused.
    const closed = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(registry.node.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
      socket.once('close', (code) => resolve(code));
    });
    expect(closed).toBe(4401);
    expect(await errorCode(registry.clients.create(registry.node.url).request(ComposeFlowDocument, { flow: 'anon' }))).toBe('UNAUTHENTICATED');
  });
});

describe('the database gone', () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  const clients = clientFactory();
  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await startFaultProxy(database.url);
  });
  afterAll(async () => {
    await clients.closeAll();
    await proxy?.stop();
    await database?.drop();
  });

  it('composeFlow answers UNAVAILABLE (503), never INTERNAL, and answers again once it is back; a flowChanged opened meanwhile fails UNAVAILABLE, one opened before lives on', async () => {
    const node = await startTestNode(proxy.url, { SWITCHBOARD_REQUEST_TIMEOUT: '2s', SWITCHBOARD_HEALTH_WORKER: 'false' });
    try {
      const client = clients.create(node.url);
      await client.request(RegisterComponentDocument, { input: { type: 'STEP', name: 'gone-step', version: '1.0.0', flows: ['gone'] } });
      const stream = client.subscribe(FlowChangedDocument, { flow: 'gone' });
      expect(chosen((await take(stream, 1))[0]!)).toEqual(['gone-step@1.0.0']);

      await proxy.cut();
      const answer = await ask(node.url, '{ composeFlow(flow: "gone") { complete } }');
      expect(answer).toMatchObject({ ok: false, code: 'UNAVAILABLE', status: 503 });
      // A new subscription's first message needs a fresh read: it fails the same way.
      const during = client.subscribe(FlowChangedDocument, { flow: 'gone' });
      try {
        await expect(withTimeout(during.next(), 10_000, 'no answer')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      } finally {
        await during.return?.();
      }

      await proxy.restore();
      await expect
        .poll(async () => (await ask(node.url, '{ composeFlow(flow: "gone") { components { component { id } } } }')).data, { timeout: 15_000 })
        .toEqual({ composeFlow: { components: [{ component: { id: 'gone-step@1.0.0' } }] } });
      // The subscription open through the outage hears the next change (the failed reads were not kept).
      await client.request(RegisterComponentDocument, { input: { type: 'STEP', name: 'gone-step', version: '2.0.0', flows: ['gone'] } });
      expect(chosen((await take(stream, 1))[0]!)).toEqual(['gone-step@2.0.0']);
      await stream.return?.();
    } finally {
      await node.stop();
    }
  });
});
