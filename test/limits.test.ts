import { createClient } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { OnEventsDocument, PublishEventDocument } from '@switchboard/client';
import { take } from './support/client.js';
import { untilOpenSubscriptions } from './support/subscriptions.js';
import { withTimeout } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';

const registry = useRegistryNode({
  SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3',
  SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_TOKEN: '5',
  SWITCHBOARD_MAX_BODY_BYTES: '65536',
});

async function query(body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const response = await fetch(registry.node.url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  let json: { errors?: { message: string; extensions?: { code?: string } }[]; data?: unknown } | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json };
}

const firstError = (result: Awaited<ReturnType<typeof query>>) => result.json?.errors?.[0];

describe('document limits (each rejected before anything runs)', () => {
  it('depth: a query nested deeper than 12 levels', async () => {
    const nested = (depth: number): string => (depth === 0 ? 'id' : `id resolvedDependencies { ${nested(depth - 1)} }`);
    expect(firstError(await query({ query: `{ components { ${nested(8)} } }` }))).toBeUndefined();
    const rejected = firstError(await query({ query: `{ components { ${nested(14)} } }` }));
    expect(rejected?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(rejected?.message).toMatch(/depth/i);
  });

  it('aliases: more than 100 in one document', async () => {
    const aliased = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: latestEventId`).join(' ')} }`;
    expect(firstError(await query({ query: aliased(100) }))).toBeUndefined();
    const rejected = firstError(await query({ query: aliased(101) }));
    expect(rejected?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(rejected?.message).toMatch(/alias/i);
  });

  it('cost: the largest documented page is accepted, a document over the limit is not', async () => {
    const page = (alias: string) => `${alias}: events(first: 1000) { id type source data actor { id name } timestamp }`;
    const accepted = await query({ query: `{ ${page('p')} }` });
    expect(firstError(accepted)).toBeUndefined();
    expect((accepted.json?.data as { p: unknown[] }).p).toBeInstanceOf(Array);
    // Two such pages: 34,000 against the default 20,000.
    const rejected = firstError(await query({ query: `{ ${page('a')} ${page('b')} }` }));
    expect(rejected?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(rejected?.message).toMatch(/cost/i);
  });

  it('tokens: a document of more than 10,000 tokens', async () => {
    const rejected = firstError(await query({ query: `{ ${'a '.repeat(10_001)} }` }));
    expect(rejected?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(rejected?.message).toMatch(/token/i);
  });

  it('directives: more than 20 on a document', async () => {
    const rejected = firstError(await query({ query: `{ latestEventId ${'@include(if: true) '.repeat(21)} }` }));
    expect(rejected?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(rejected?.message).toMatch(/directive/i);
  });

  it('body size: a request over SWITCHBOARD_MAX_BODY_BYTES is refused with 413', async () => {
    const result = await query({ query: '{ latestEventId }', variables: { padding: 'x'.repeat(70_000) } });
    expect(result.status).toBe(413);
    expect(firstError(result)?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('batching: an array of operations is refused', async () => {
    const result = await query([{ query: '{ latestEventId }' }, { query: '{ latestEventId }' }]);
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.status).toBeLessThan(500);
    expect(firstError(result)?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('the server still answers ordinary requests afterwards', async () => {
    expect((await query({ query: '{ latestEventId }' })).json?.data).toBeDefined();
  });
});

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

/** One operation over HTTP or over the WebSocket; a refusal comes back as its errors. */
const transports: Record<string, (query: string, variables?: Record<string, unknown>, operationName?: string) => Promise<Answer>> = {
  HTTP: async (text, variables, operationName) => (await query({ query: text, variables, operationName })).json as Answer,
  WebSocket: async (text, variables, operationName) => {
    const ws = createClient({ url: registry.node.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const results = ws.iterate({ query: text, variables, operationName });
    try {
      return (await results.next()).value as Answer;
    } catch (errors) {
      // graphql-ws rejects with the "error" message's list when the server refuses the operation.
      return { errors: errors as Answer['errors'] };
    } finally {
      await results.return?.();
      await ws.dispose();
    }
  },
};

describe.each(Object.keys(transports))('cost of page sizes given as variables or left out, over %s', (transport) => {
  const ask = transports[transport]!;
  const everyField = 'id type source data actor { id name } timestamp';
  const twoPages = (size: string) => `a: events(first: ${size}) { ${everyField} } b: events(first: ${size}) { ${everyField} }`;
  // Validation covers the whole document: an operation over the limit stops the one selected beside it.
  const withPublish = (pages: string) => `mutation Publish { publishEvent(input: { type: "cost.ran", source: "limits" }) { id } } ${pages}`;

  it('a document over the limit with `first` written out is refused the same way with `first` as a variable, and nothing in it runs', async () => {
    // 600 rows: 2 × 600 × 17 = 20,400 written out; 1000 rows: 34,000. The default limit is 20,000.
    for (const rows of [600, 1000]) {
      const literal = await ask(withPublish(`query Pages { ${twoPages(String(rows))} }`), {}, 'Publish');
      const variable = await ask(withPublish(`query Pages($rows: Int) { ${twoPages('$rows')} }`), { rows }, 'Publish');
      const inFragment = await ask(withPublish(`query Pages($rows: Int) { ...Two } fragment Two on Query { ${twoPages('$rows')} }`), { rows }, 'Publish');
      for (const answer of [literal, variable, inFragment]) {
        expect(answer.errors?.[0]?.extensions?.['code'], `${rows} rows`).toBe('BAD_USER_INPUT');
        expect(answer.errors?.[0]?.message).toMatch(/cost/i);
        expect(answer.data ?? undefined).toBeUndefined();
      }
    }
    const ran = await ask('{ events(types: ["cost.ran"]) { id } }');
    expect(ran).toEqual({ data: { events: [] } });
  });

  it('a page size left out counts as its default (events: 100 rows), in operations and in fragments', async () => {
    // Each `events { every field }` reads 100 rows: 1,700. Twelve of them (20,400) are over the limit,
    // the same as writing `first: 100` twelve times; eleven (18,700) are not.
    const pages = (count: number) => Array.from({ length: count }, (_, i) => `p${i}: events { ${everyField} }`).join(' ');
    for (const document of [`{ ${pages(12)} }`, `{ ...Many } fragment Many on Query { ${pages(12)} }`]) {
      const answer = await ask(document);
      expect(answer.errors?.[0]?.extensions?.['code'], document.slice(0, 40)).toBe('BAD_USER_INPUT');
      expect(answer.errors?.[0]?.message).toMatch(/cost/i);
    }
    const underLimit = await ask(`{ ${pages(11)} }`);
    expect(underLimit.errors).toBeUndefined();
  });

  it('the documented page, events(first: 1000) with every field, is accepted written out or as a variable', async () => {
    const literal = await ask(`{ events(first: 1000) { ${everyField} } }`);
    const variable = await ask(`query Page($rows: Int) { events(first: $rows) { ${everyField} } }`, { rows: 1000 });
    for (const answer of [literal, variable]) {
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.['events']).toBeInstanceOf(Array);
    }
  });
});

describe('subscription limits', () => {
  it('per connection: the fourth subscription on one WebSocket is refused with LIMIT_EXCEEDED', async () => {
    await untilOpenSubscriptions(registry.node, 0);
    const client = registry.clients.create(registry.node.url);
    const streams = Array.from({ length: 3 }, () => client.subscribe(OnEventsDocument, {}));
    // Start them (graphql-ws subscribes on the first next()); they end when returned below.
    streams.forEach((stream) => void stream.next().catch(() => {}));
    await untilOpenSubscriptions(registry.node, 3);
    const fourth = client.subscribe(OnEventsDocument, {});
    await expect(withTimeout(fourth.next(), 3_000, 'no answer')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    for (const stream of streams) await stream.return!();
  });

  it('per token: across connections, the sixth open subscription is refused', async () => {
    await untilOpenSubscriptions(registry.node, 0);
    const clients = [registry.clients.create(registry.node.url), registry.clients.create(registry.node.url)];
    const streams = [0, 1, 2, 3, 4].map((i) => clients[i % 2]!.subscribe(OnEventsDocument, {}));
    streams.forEach((stream) => void stream.next().catch(() => {}));
    await untilOpenSubscriptions(registry.node, 5);
    const sixth = clients[1]!.subscribe(OnEventsDocument, {});
    await expect(withTimeout(sixth.next(), 3_000, 'no answer')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });

    // Closing one frees a place.
    await streams[0]!.return!();
    await untilOpenSubscriptions(registry.node, 4);
    const again = clients[0]!.subscribe(OnEventsDocument, { after: '0' });
    await registry.client.request(PublishEventDocument, { input: { type: 'limits.ping', source: 'test', data: {} } });
    expect((await take(again, 1))[0]!.events).toBeDefined();
    for (const stream of [...streams.slice(1), again]) await stream.return!();
  });
});
