import { describe, expect, it } from 'vitest';
import {
  EventsDocument,
  HeartbeatDocument,
  LatestEventIdDocument,
  OnEventsDocument,
  OnServiceChangedDocument,
  PublishEventDocument,
  RegisterServiceDocument,
  UnregisterServiceDocument,
} from '@switchboard/client';
import { appendEvents } from '../src/events/append.js';
import { errorCode, instance, take } from './support/client.js';
import { sleep, withTimeout } from './support/wait.js';
import { startTestNode, useRegistryNode } from './support/nodes.js';

const registry = useRegistryNode();

describe('event ids follow commit order', () => {
  it('a reader polling "after my cursor" never skips an event while writers commit out of order', async () => {
    // Each writer draws its id and then dawdles before committing: exactly the
    // window in which a plain sequence lets a later id commit first.
    const writers = 8;
    const perWriter = 15;
    let writing = true;
    const seen: number[] = [];

    const reader = (async () => {
      let cursor = 0;
      while (writing || cursor < (await maxId())) {
        const rows = await registry.database.sql<{ id: string }[]>`select id from events where id > ${cursor} order by id`;
        for (const row of rows) {
          seen.push(Number(row.id));
          cursor = Number(row.id);
        }
        await sleep(1); // the reader's polling pace, not a wait for an event
      }
    })();

    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let i = 0; i < perWriter; i++) {
          await registry.database.db.transaction(async (tx) => {
            await appendEvents(tx, [{ type: 'test.ordered', source: `writer-${writer}`, data: { i } }]);
            await sleep(Math.random() * 8); // time is the subject: the window between drawing an id and committing
          });
        }
      }),
    );
    writing = false;
    await reader;

    const all = (await registry.database.sql<{ id: string }[]>`select id from events where type = 'test.ordered' order by id`).map((row) => Number(row.id));
    expect(all).toHaveLength(writers * perWriter);
    expect(seen.filter((id) => all.includes(id))).toEqual(all);
  });

  async function maxId(): Promise<number> {
    const [row] = await registry.database.sql<{ id: string | null }[]>`select max(id) as id from events`;
    return Number(row?.id ?? 0);
  }
});

describe('events query', () => {
  it('pages through the log in ascending order, filtered by exact type or prefix', async () => {
    const client = registry.clients.create(registry.node.url);
    await client.request(RegisterServiceDocument, { input: instance({ id: 'q-1' }) });
    await client.request(RegisterServiceDocument, { input: instance({ id: 'q-2' }) });
    await client.request(UnregisterServiceDocument, { id: 'q-1' });

    const { events: all } = await client.request(EventsDocument, { types: ['service.*'] });
    const mine = all.filter((event) => ['q-1', 'q-2'].includes((event.data as { id: string }).id));
    expect(mine.map((event) => event.type)).toEqual(['service.registered', 'service.registered', 'service.unregistered']);

    const ids = all.map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    const { events: firstPage } = await client.request(EventsDocument, { types: ['service.*'], first: 1 });
    const { events: rest } = await client.request(EventsDocument, { types: ['service.*'], after: firstPage[0]!.id });
    expect([...firstPage, ...rest]).toEqual(all);

    const { events: removals } = await client.request(EventsDocument, { types: ['service.unregistered'] });
    expect(removals.every((event) => event.type === 'service.unregistered')).toBe(true);
    const { latestEventId } = await client.request(LatestEventIdDocument);
    expect(Number(latestEventId)).toBeGreaterThanOrEqual(Math.max(...ids));
  });
});

describe('publishEvent', () => {
  it('stores a custom event and returns it with its id and timestamp', async () => {
    const client = registry.clients.create(registry.node.url);
    const before = Date.now();
    const { publishEvent } = await client.request(PublishEventDocument, {
      input: { type: 'deploy.finished', source: 'ci/pipeline-42', data: { service: 'api', version: '1.4.2', steps: [{ name: 'build', ok: true }] } },
    });
    expect(publishEvent).toMatchObject({ type: 'deploy.finished', source: 'ci/pipeline-42', data: { service: 'api', version: '1.4.2' } });
    expect(Date.parse(publishEvent.timestamp)).toBeGreaterThanOrEqual(before - 5_000);
    const { events } = await client.request(EventsDocument, { types: ['deploy.*'] });
    expect(events.at(-1)).toEqual(publishEvent);
  });

  it.each([
    ['a type in a reserved namespace', { type: 'service.registered', source: 'x', data: {} }],
    ['a type with upper case', { type: 'Deploy.Finished', source: 'x', data: {} }],
    ['a type of one word', { type: 'deploy', source: 'x', data: {} }],
    ['an empty source', { type: 'deploy.finished', source: '', data: {} }],
    ['data that is not an object', { type: 'deploy.finished', source: 'x', data: [1, 2] }],
    ['data over 64 KiB', { type: 'deploy.finished', source: 'x', data: { blob: 'x'.repeat(70 * 1024) } }],
    ['data nested too deep', { type: 'deploy.finished', source: 'x', data: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) }],
  ])('refuses %s, writing nothing', async (_label, input) => {
    const client = registry.clients.create(registry.node.url);
    const { latestEventId } = await client.request(LatestEventIdDocument);
    expect(await errorCode(client.request(PublishEventDocument, { input }))).toBe('BAD_USER_INPUT');
    expect((await client.request(LatestEventIdDocument)).latestEventId).toBe(latestEventId);
  });
});

describe('events subscription (WebSocket)', () => {
  it('replays everything after the cursor, then goes live, each event once and in order', async () => {
    const client = registry.clients.create(registry.node.url);
    const { latestEventId: start } = await client.request(LatestEventIdDocument);
    for (let i = 0; i < 3; i++) await client.request(RegisterServiceDocument, { input: instance({ id: `replay-${i}` }) });

    const stream = client.subscribe(OnEventsDocument, { after: start, types: ['service.registered'] });
    const replayed = await take(stream, 3);
    expect(replayed.map((value) => (value.events.data as { id: string }).id)).toEqual(['replay-0', 'replay-1', 'replay-2']);

    for (let i = 3; i < 6; i++) await client.request(RegisterServiceDocument, { input: instance({ id: `replay-${i}` }) });
    const live = await take(stream, 3);
    expect(live.map((value) => (value.events.data as { id: string }).id)).toEqual(['replay-3', 'replay-4', 'replay-5']);

    const ids = [...replayed, ...live].map((value) => Number(value.events.id));
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    await stream.return!();
  });

  it('a subscriber that disconnects resumes from its last event id without a gap or a duplicate', async () => {
    const first = registry.clients.create(registry.node.url);
    const writer = registry.clients.create(registry.node.url);
    const { latestEventId: start } = await writer.request(LatestEventIdDocument);
    const stream = first.subscribe(OnEventsDocument, { after: start, types: ['service.*'] });
    for (let i = 0; i < 5; i++) await writer.request(RegisterServiceDocument, { input: instance({ id: `resume-${i}` }) });
    const before = await take(stream, 3);
    await first.close(); // the connection drops mid-stream

    for (let i = 5; i < 10; i++) await writer.request(RegisterServiceDocument, { input: instance({ id: `resume-${i}` }) });

    const second = registry.clients.create(registry.node.url);
    const resumed = second.subscribe(OnEventsDocument, { after: before.at(-1)!.events.id, types: ['service.*'] });
    const after = await take(resumed, 7);
    const received = [...before, ...after].map((value) => (value.events.data as { id: string }).id);
    expect(received).toEqual(Array.from({ length: 10 }, (_, i) => `resume-${i}`));
    await resumed.return!();
  });

  it('serviceChanged filters by name and says what happened', async () => {
    const client = registry.clients.create(registry.node.url);
    const { latestEventId: start } = await client.request(LatestEventIdDocument);
    const changes = client.subscribe(OnServiceChangedDocument, { name: 'billing', after: start });

    await client.request(RegisterServiceDocument, { input: instance({ id: 'billing-1', name: 'billing', version: '1.0.0' }) });
    await client.request(RegisterServiceDocument, { input: instance({ id: 'other-1', name: 'other' }) });
    await client.request(RegisterServiceDocument, { input: instance({ id: 'billing-1', name: 'billing', version: '1.1.0' }) });
    await client.request(UnregisterServiceDocument, { id: 'billing-1' });

    const received = await take(changes, 3);
    expect(received.map(({ serviceChanged }) => [serviceChanged.kind, serviceChanged.serviceId, serviceChanged.instance.version])).toEqual([
      ['REGISTERED', 'billing-1', '1.0.0'],
      ['UPDATED', 'billing-1', '1.1.0'],
      ['DEREGISTERED', 'billing-1', '1.1.0'],
    ]);
    expect(received[2]!.serviceChanged.reason).toBe('deregistered');
    await changes.return!();
  });

  it("each change shows the instance's lease and checks as of that change, not as of the subscription's first", async () => {
    const client = registry.clients.create(registry.node.url);
    const { latestEventId: start } = await client.request(LatestEventIdDocument);
    const changes = client.subscribe(OnServiceChangedDocument, { name: 'leased', after: start });

    await client.request(RegisterServiceDocument, { input: instance({ id: 'leased-1', name: 'leased', ttl: '30s', tags: ['a'] }) });
    const [registered] = await take(changes, 1);
    await sleep(10); // time passing is the subject: a heartbeat in the same millisecond would not tell the two leases apart
    const { heartbeat } = await client.request(HeartbeatDocument, { id: 'leased-1' });
    // Heartbeats write no event; the next change of the instance does.
    await client.request(RegisterServiceDocument, { input: instance({ id: 'leased-1', name: 'leased', ttl: '30s', tags: ['b'] }) });
    const [updated] = await take(changes, 1);

    expect(registered!.serviceChanged.kind).toBe('REGISTERED');
    expect(updated!.serviceChanged).toMatchObject({ kind: 'UPDATED', instance: { tags: ['b'] } });
    const leaseOf = ({ serviceChanged: { instance } }: typeof updated & {}) => ({
      lastHeartbeatAt: Date.parse(instance.lastHeartbeatAt!),
      expiresAt: Date.parse(instance.expiresAt!),
      lastCheck: Date.parse(instance.health.lastCheck!),
    });
    const before = leaseOf(registered!);
    const after = leaseOf(updated!);
    expect(after.lastHeartbeatAt).toBeGreaterThanOrEqual(Date.parse(heartbeat.lastHeartbeatAt!));
    expect(after.lastHeartbeatAt).toBeGreaterThan(before.lastHeartbeatAt);
    expect(after.expiresAt).toBeGreaterThan(before.expiresAt);
    expect(after.lastCheck).toBeGreaterThan(before.lastCheck);
    await changes.return!();
  });

  it('replays from the table when the cursor is older than what the node holds in memory', async () => {
    // A node started now holds no events in memory; everything before is read from the table.
    const late = await startTestNode(registry.database.url);
    try {
      const client = registry.clients.create(late.url);
      const stream = client.subscribe(OnEventsDocument, { after: '0' });
      const { events: expected } = await client.request(EventsDocument, { first: 1000 });
      const replayed = await take(stream, expected.length);
      expect(replayed.map((value) => value.events.id)).toEqual(expected.map((event) => event.id));
      await stream.return!();
    } finally {
      await late.stop();
    }
  });

  it('refuses a cursor from the future', async () => {
    const client = registry.clients.create(registry.node.url);
    const stream = client.subscribe(OnEventsDocument, { after: '999999999' });
    expect(await errorCode(stream.next())).toBe('BAD_USER_INPUT');
  });
});

describe('events subscription (SSE)', () => {
  it('streams the same replay-then-live sequence over server-sent events', async () => {
    const client = registry.clients.create(registry.node.url);
    const { latestEventId: start } = await client.request(LatestEventIdDocument);
    await client.request(RegisterServiceDocument, { input: instance({ id: 'sse-0' }) });

    const abort = new AbortController();
    const response = await fetch(registry.node.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: 'subscription ($after: ID) { events(after: $after, types: ["service.registered"]) { id data } }',
        variables: { after: start },
      }),
      signal: abort.signal,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = readServerSentEvents(response.body!);

    const replayed = await withTimeout(events.next(), 5_000, 'no replayed event');
    expect((replayed.value as { data: { events: { data: { id: string } } } }).data.events.data.id).toBe('sse-0');

    await client.request(RegisterServiceDocument, { input: instance({ id: 'sse-1' }) });
    const live = await withTimeout(events.next(), 5_000, 'no live event');
    expect((live.value as { data: { events: { data: { id: string } } } }).data.events.data.id).toBe('sse-1');
    abort.abort();
  });
});

/** Parses `event: next` / `data: {...}` frames from an SSE body. */
async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('\n');
      if (frame.includes('event: next') && data) yield JSON.parse(data);
    }
  }
}
