import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseEncoding } from '../src/server/graphiql-assets.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { spawnNode, type NodeProcess } from './support/nodes.js';

const TOKEN = 'graphiql-test-admin-token-0123';
let database: TestDatabase;
let node: NodeProcess;

beforeAll(async () => {
  database = await createTestDatabase();
  node = await spawnNode({ DATABASE_URL: database.url, SWITCHBOARD_ADMIN_TOKEN: TOKEN });
});

afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A plain GET with exactly the headers given (fetch would add and decode an Accept-Encoding of its own). */
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const page = () => get(node.url, { accept: 'text/html' });
const assetUrls = (html: string) => [...html.matchAll(/(?:src|href)="(\/graphiql\/[^"]+)"/g)].map((match) => new URL(match[1]!, node.url).toString());

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

describe('GraphiQL as static files', () => {
  it('the page is small, needs no token, and revalidates by ETag', async () => {
    const first = await page();
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/text\/html/);
    expect(first.body.length).toBeLessThan(4_096);
    expect(first.body.toString()).toContain('GraphiQL');
    expect(first.headers['etag']).toBeDefined();
    const again = await get(node.url, { accept: 'text/html', 'if-none-match': first.headers['etag']! });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('its assets are compressed as the client accepts, cacheable for good, and the same bytes under each encoding', async () => {
    const urls = assetUrls((await page()).body.toString());
    expect(urls.map((url) => url.split('/').pop())).toEqual(expect.arrayContaining(['graphiql.js', 'graphiql.css', 'favicon.ico']));
    const script = urls.find((url) => url.endsWith('graphiql.js'))!;

    const plain = await get(script);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['vary']).toBe('Accept-Encoding');
    expect(plain.body.toString()).toContain('renderYogaGraphiQL');

    const br = await get(script, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.length).toBeLessThan(plain.body.length / 3);
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);

    const gz = await get(script, { 'accept-encoding': 'gzip, br;q=0' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);

    expect(new Set([plain.headers['etag'], br.headers['etag'], gz.headers['etag']]).size).toBe(3);
    expect((await get(script, { 'accept-encoding': 'br', 'if-none-match': br.headers['etag']! })).status).toBe(304);
    expect((await get(new URL('/graphiql/0000000000000000/graphiql.js', node.url).toString())).status).toBe(404);
  });

  it('Accept-Encoding: brotli first, then gzip, q=0 refuses', () => {
    expect(chooseEncoding(undefined)).toBe('identity');
    expect(chooseEncoding('gzip, deflate, br')).toBe('br');
    expect(chooseEncoding('br;q=0, gzip')).toBe('gzip');
    expect(chooseEncoding('identity')).toBe('identity');
    expect(chooseEncoding('*')).toBe('gzip');
  });

  it('200 concurrent GETs of the page (and 20 of its script), without a token, grow the server by under 64 MB and do not stall a real query', async () => {
    const html = (await page()).body.toString(); // the one build happens here, before measuring
    const script = assetUrls(html).find((url) => url.endsWith('graphiql.js'));
    if (script) await get(script);
    const before = rssBytes(node.child.pid!);

    // The attack as reported: 200 concurrent page loads; and some browsers fetching the script meanwhile.
    const storm = Promise.all([
      ...Array.from({ length: 200 }, () => page()),
      ...(script ? Array.from({ length: 20 }, () => get(script, { 'accept-encoding': 'gzip, deflate, br' })) : []),
    ]);
    const started = Date.now();
    const query = await fetch(node.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query: '{ latestEventId }' }),
    });
    const queryMs = Date.now() - started;
    const answers = await storm;
    const after = rssBytes(node.child.pid!);

    expect(query.status).toBe(200);
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    console.info(`GraphiQL storm: RSS ${Math.round(before / 2 ** 20)} -> ${Math.round(after / 2 ** 20)} MB, query answered in ${queryMs} ms`);
    expect(after - before).toBeLessThan(64 * 2 ** 20);
    expect(queryMs).toBeLessThan(5_000);
  });
});
