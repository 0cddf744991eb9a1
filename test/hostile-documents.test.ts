import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { documentProblem, jsonNestsDeeperThan, nestingExceeds } from '../src/http/document-limits.js';
import { withTimeout } from './support/wait.js';
import { startTestNode, useRegistryNode, type TestNode } from './support/nodes.js';

// Default limits: a query of at most 64 KiB, nesting at most 100, 16 MiB of cached documents.
const registry = useRegistryNode();
const MAX_DOCUMENT_BYTES = 64 * 1024;

interface Answer {
  status?: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs a body written by hand: JSON.stringify itself would overflow on the deepest variables. */
async function post(body: string, url = registry.node.url): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body });
  return { status: response.status, ...((await response.json()) as Answer) };
}

const body = (query: string, variablesJson?: string) =>
  `{"query":${JSON.stringify(query)}${variablesJson === undefined ? '' : `,"variables":${variablesJson}`}}`;

/** A graphql-transport-ws connection that sends hand-written messages and queues what it receives. */
async function rawSocket(url = registry.node.url) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const received: { id?: string; type: string; payload?: unknown }[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)) as (typeof received)[number]);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const next = (match: (message: (typeof received)[number]) => boolean) =>
    withTimeout(
      new Promise<(typeof received)[number]>((resolve, reject) => {
        const look = () => {
          const index = received.findIndex(match);
          if (index >= 0) resolve(received.splice(index, 1)[0]!);
          else waiters.push(look);
        };
        look();
        void closed.then((code) => reject(new Error(`connection closed with ${code}`)));
      }),
      10_000,
      'no such message',
    );
  socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  await next((message) => message.type === 'connection_ack');
  let ids = 0;
  return {
    /** One operation; its `error` message or its first `next` payload, as an answer. */
    async ask(query: string, variablesJson?: string): Promise<Answer> {
      const id = `op${(ids += 1)}`;
      socket.send(`{"type":"subscribe","id":"${id}","payload":${body(query, variablesJson)}}`);
      const message = await next((received) => received.id === id);
      if (message.type === 'error') return { errors: message.payload as Answer['errors'] };
      return message.payload as Answer;
    },
    isOpen: () => socket.readyState === WebSocket.OPEN,
    close: async () => {
      socket.close();
      await closed;
    },
  };
}

let ws: Awaited<ReturnType<typeof rawSocket>>;
beforeAll(async () => {
  ws = await rawSocket();
});
afterAll(async () => ws?.close());

const transports: Record<string, (query: string, variablesJson?: string) => Promise<Answer>> = {
  HTTP: (query, variablesJson) => post(body(query, variablesJson)),
  WebSocket: (query, variablesJson) => ws.ask(query, variablesJson),
};

const list = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** Each way a document can nest `depth` deep: a JSON literal, a selection, JSON variables. */
const shapes: Record<string, (depth: number) => [query: string, variablesJson?: string]> = {
  literal: (depth) => [`mutation { setConfig(key: "hostile.deep", value: ${list(depth)}) { version } }`],
  selection: (depth) => [`{ ${'a { '.repeat(depth)}b${' }'.repeat(depth)} }`],
  variables: (depth) => ['mutation D($v: JSON!) { setConfig(key: "hostile.deep", value: $v) { version } }', `{"v":${list(depth)}}`],
};

describe.each(Object.keys(transports))('nesting over %s: refused with BAD_USER_INPUT, never INTERNAL', (transport) => {
  const ask = transports[transport]!;

  it.each(Object.keys(shapes).flatMap((shape) => [3_000, 4_000, 5_000, 100_000].map((depth) => [shape, depth] as const)))(
    '%s nested %i deep',
    async (shape, depth) => {
      const [query, variablesJson] = shapes[shape]!(depth);
      const answer = await ask(query, variablesJson);
      expect(answer.errors?.[0]?.extensions?.code, JSON.stringify(answer.errors)).toBe('BAD_USER_INPUT');
      // Refused for its nesting, or (100,000 brackets being 200 KB) for its size: not by a stack overflow.
      expect(answer.errors?.[0]?.message).toMatch(/nest deeper than 100|nests brackets, braces or parentheses deeper than 100|larger than 65536 bytes/);
      if (answer.status !== undefined) expect(answer.status).toBe(400);
    },
  );

  it('nesting within the limit is served; brackets in strings, block strings and comments do not count', async () => {
    const deep = (await ask(`mutation { setConfig(key: "hostile.ok.${transport}", value: ${list(20)}) { version } }`)) as Answer;
    expect(deep.errors).toBeUndefined();
    const brackets = '{['.repeat(2_000);
    const quoted = await ask(
      `mutation { setConfig(key: "hostile.quoted.${transport}", value: ["${brackets}\\"${brackets}", """${brackets}\\"""${brackets}"""]) { version } } # ${brackets}`,
    );
    expect(quoted.errors).toBeUndefined();
    expect(quoted.data).toEqual({ setConfig: { version: 1 } });
  });
});

it('nothing nested too deep was written, and the WebSocket that carried it is still open', async () => {
  const [row] = await registry.database.sql<{ count: number }[]>`select count(*)::int as count from config_entries where key = 'hostile.deep'`;
  expect(row!.count).toBe(0);
  expect(ws.isOpen()).toBe(true);
  expect((await post(body('{ latestEventId }'))).errors).toBeUndefined();
});

describe('the nesting scan follows the GraphQL lexer', () => {
  it.each([
    ['an escaped quote does not end a string', '{ a(s: "\\"{{{") }', 2, false],
    ['a backslash before the closing quote is escaped itself', '{ a(s: "\\\\") { b { c } } }', 2, true],
    ['an escaped triple quote does not end a block string', '{ a(s: """ \\""" {{{ """) }', 2, false],
    ['a comment runs to the end of its line only', '# {{{\n{ a { b { c } } }', 2, true],
    ['a carriage return ends a comment too', '# {{{\r{ a }', 2, false],
    ['a closer without an opener does not hide the openers after it', ')))))) { a { b { c } } }', 2, true],
    ['list types count', 'query ($v: [[[Int]]]) { a }', 2, true],
  ])('%s', (_why, text, max, exceeds) => {
    expect(nestingExceeds(text, max)).toBe(exceeds);
  });

  it('variables count levels of arrays and objects, the variables object included', () => {
    expect(jsonNestsDeeperThan({ v: [[1]] }, 3)).toBe(false);
    expect(jsonNestsDeeperThan({ v: [[{}]] }, 3)).toBe(true);
    expect(jsonNestsDeeperThan(null, 1)).toBe(false);
  });

  it('size is counted in UTF-8 bytes', () => {
    expect(documentProblem('é'.repeat(600), { maxDocumentBytes: 1_200, maxNesting: 10 })).toBeUndefined();
    expect(documentProblem('é'.repeat(601), { maxDocumentBytes: 1_200, maxNesting: 10 })).toMatch(/larger than 1200 bytes/);
  });
});

describe('a document over the size limit is refused before it is parsed', () => {
  // Over the limit, and a syntax error at its first character: a parser would have said "Syntax Error".
  const tooLarge = `}${'{ a '.repeat(MAX_DOCUMENT_BYTES / 4)}`;
  let small: TestNode;
  beforeAll(async () => {
    small = await startTestNode(registry.database.url, { SWITCHBOARD_MAX_DOCUMENT_BYTES: '4096' });
  });
  afterAll(async () => small?.stop());

  it.each(Object.keys(transports))('over %s', async (transport) => {
    const answer = await transports[transport]!(tooLarge);
    expect(answer.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^The query is larger than 65536 bytes/) })]);
    expect(answer.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.errors![0]!.message).not.toMatch(/Syntax Error/);
  });

  it('over HTTP GET (SWITCHBOARD_MAX_DOCUMENT_BYTES=4096, as a URL carries less than 16 KB)', async () => {
    const fits = `{ latestEventId } #${'x'.repeat(4_000)}`;
    const over = `{ latestEventId } #${'x'.repeat(4_100)}`;
    const get = async (query: string) => {
      const response = await fetch(`${small.url}?${new URLSearchParams({ query })}`, { headers: { accept: 'application/json' } });
      return { status: response.status, ...((await response.json()) as Answer) };
    };
    expect((await get(fits)).errors).toBeUndefined();
    const refused = await get(over);
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringMatching(/larger than 4096 bytes/), extensions: { code: 'BAD_USER_INPUT' } });
  });
});

/** A collected heap's size. The flag is set at run time: vitest's workers are not started with --expose-gc. */
function retainedHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A distinct query of `bytes` bytes: `head` (a few hundred tokens), then a unique comment. */
function padded(head: string, n: number, bytes = MAX_DOCUMENT_BYTES - 100): string {
  const start = `${head} # ${n} `;
  return `${start}${'x'.repeat(bytes - start.length)}`;
}

async function inParallel<T>(items: T[], concurrency: number, run: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

describe('memory: nothing a caller sends stays beyond the caches’ byte bounds', () => {
  it('1,500 distinct documents just under the size limit (answered, compiled, invalid or unparsable) grow the retained heap by less than 40 MB', async () => {
    const fields = 'latestEventId '.repeat(20);
    // Answered (twice, so the JIT compiles each), refused by validation, refused by the parser.
    const kinds = [
      (n: number) => ({ query: padded(`query Q${n} { ${fields} }`, n), times: 2, ok: true }),
      (n: number) => ({ query: padded(`query Q${n} { ${fields} unknownField${n} }`, n), times: 1, ok: false }),
      (n: number) => ({ query: padded(`query Q${n} { ${fields}`, n), times: 1, ok: false }),
    ];
    const send = async (n: number) => {
      const { query, times, ok } = kinds[n % kinds.length]!(n);
      for (let time = 0; time < times; time++) {
        const answer = await post(body(query));
        expect(answer.errors === undefined, JSON.stringify(answer.errors?.[0])).toBe(ok);
        if (!ok) expect(answer.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
      }
    };
    // Warm up whatever is built once (schema, JIT, connections), then measure.
    await inParallel(
      Array.from({ length: 60 }, (_, n) => 1_000_000 + n),
      8,
      send,
    );
    const before = retainedHeap();
    await inParallel(
      Array.from({ length: 1_500 }, (_, n) => n),
      8,
      send,
    );
    const grown = (retainedHeap() - before) / 2 ** 20;
    expect(grown, `retained heap grew by ${grown.toFixed(1)} MiB`).toBeLessThan(40);
  }, 300_000);
});

describe('Consul API: deeply nested JSON bodies are a 400, never a 500', () => {
  const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const consul = (path: string, json: string) =>
    fetch(new URL(path, registry.node.url), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: json });

  it.each([
    ['service Meta', '/v1/agent/service/register', (d: string) => `{"Name":"hostile-deep","Meta":${d}}`],
    ['an unknown service field', '/v1/agent/service/register', (d: string) => `{"Name":"hostile-deep","Extra":${d}}`],
    ['a service check', '/v1/agent/service/register', (d: string) => `{"Name":"hostile-deep","Check":{"TTL":"10s","Header":${d}}}`],
    ['a check', '/v1/agent/check/register', (d: string) => `{"Name":"hostile-deep","ServiceID":"hostile-deep","TTL":"10s","Header":${d}}`],
    ['a check update', '/v1/agent/check/update/hostile-deep', (d: string) => `{"Status":"passing","Output":${d}}`],
  ])('%s nested 100,000 deep', async (_what, path, write) => {
    const response = await consul(path, write(deep(100_000)));
    const text = await response.text();
    expect(response.status, text.slice(0, 200)).toBeGreaterThanOrEqual(400);
    expect(response.status, text.slice(0, 200)).toBeLessThan(500);
    expect(text).toMatch(/nests deeper than 100 levels/);
  });
});
