import { EventEmitter } from 'node:events';
import Consul from 'consul';
import { describe, expect, it } from 'vitest';
import { ConfigDocument, CreateTokenDocument, EventsDocument, LatestEventIdDocument, OnConfigChangedDocument, SetConfigDocument } from '@switchboard/client';
import { take } from './support/client.js';
import { withTimeout } from './support/wait.js';
import { feedWaiters, feedWaitersReach } from './support/feed-waiters.js';
import { useRegistryNode } from './support/nodes.js';

const ADMIN = 'consul-kv-test-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN });
const admin = () => registry.clients.create(registry.node.url, ADMIN);
const origin = () => new URL(registry.node.url).origin;

/** One request to the KV API with the admin token (or `token`). */
async function kv(method: string, path: string, body?: string | Uint8Array, token = ADMIN): Promise<Response> {
  return fetch(`${origin()}/v1/kv/${path}`, { method, body: body as BodyInit | undefined, headers: { 'x-consul-token': token } });
}

async function raw(key: string): Promise<Buffer> {
  const response = await kv('GET', `${key}?raw`);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

async function configOf(key: string) {
  return (await admin().request(ConfigDocument, { key })).config;
}

async function latestEventId(): Promise<string> {
  return (await admin().request(LatestEventIdDocument)).latestEventId;
}

describe('KV is the configuration store', () => {
  it('keeps every accepted body byte for byte: canonical JSON as its value, anything else as text', async () => {
    const cases: [string, string, unknown][] = [
      ['kvmap/number', '30', 30],
      ['kvmap/duration', '30s', '30s'],
      ['kvmap/bool', 'true', true],
      ['kvmap/object', '{"b":[1,2],"a":"x"}', '{"b":[1,2],"a":"x"}'], // keys not in stored order: text
      ['kvmap/canonical', '{"a":"x","b":[1,2]}', { a: 'x', b: [1, 2] }],
      ['kvmap/spaced', '{ "a": 1 }', '{ "a": 1 }'],
      ['kvmap/quoted', '"hello"', '"hello"'],
      ['kvmap/float', '1.0', '1.0'],
      ['kvmap/big', '9007199254740993', '9007199254740993'],
      ['kvmap/unicode', 'grüße ✓ 😀', 'grüße ✓ 😀'],
      ['kvmap/null', 'null', 'null'],
      ['kvmap/empty', '', ''],
    ];
    for (const [key, body, value] of cases) {
      const put = await kv('PUT', key, body);
      expect([key, put.status, await put.text()]).toEqual([key, 200, 'true']);
      expect([key, (await raw(key)).toString('utf8')]).toEqual([key, body]);
      expect([key, (await configOf(key.replaceAll('/', '.')))?.value]).toEqual([key, value]);
    }
    const [pair] = (await (await kv('GET', 'kvmap/unicode')).json()) as { Value: string }[];
    expect(Buffer.from(pair!.Value, 'base64').toString('utf8')).toBe('grüße ✓ 😀');
    const [empty] = (await (await kv('GET', 'kvmap/empty')).json()) as { Value: string | null }[];
    expect(empty!.Value).toBeNull();
  });

  it('is a configuration write: versioned, watched by configChanged, with an event naming the token, and GraphQL values read back', async () => {
    const before = await latestEventId();
    const watcher = admin().subscribe(OnConfigChangedDocument, { key: 'kvwrite.timeout', after: before });
    await kv('PUT', 'kvwrite/timeout', '5s');
    await kv('PUT', 'kvwrite/timeout', '6s');
    const changes = await take(watcher, 2);
    await watcher.return!();
    expect(changes.map(({ configChanged }) => [configChanged.oldValue, configChanged.newValue, configChanged.version])).toEqual([
      [null, '5s', 1],
      ['5s', '6s', 2],
    ]);
    const entry = await configOf('kvwrite.timeout');
    expect(entry).toMatchObject({ value: '6s', version: 2, environment: null });
    const { events } = await admin().request(EventsDocument, { types: ['config.changed'], after: before });
    const data = (event: { data: unknown }) => event.data as Record<string, unknown>;
    expect(events.map((event) => [data(event)['key'], data(event)['newValue'], event.actor?.name])).toEqual([
      ['kvwrite.timeout', '5s', 'admin'],
      ['kvwrite.timeout', '6s', 'admin'],
    ]);

    await admin().request(SetConfigDocument, { key: 'kvwrite.limits', value: { rps: 100, burst: 20 } });
    await admin().request(SetConfigDocument, { key: 'kvwrite.name', value: 'payments' });
    // A string that looks like JSON stays a string, read through GraphQL or KV.
    await admin().request(SetConfigDocument, { key: 'kvwrite.text', value: '{"a":1}' });
    expect((await configOf('kvwrite.text'))?.value).toBe('{"a":1}');
    expect((await raw('kvwrite/text')).toString()).toBe('{"a":1}');
    await admin().request(SetConfigDocument, { key: 'kvwrite.name', value: 'only-prod', environment: 'prod' });
    expect((await raw('kvwrite/limits')).toString()).toBe('{"rps":100,"burst":20}');
    expect((await raw('kvwrite/name')).toString()).toBe('payments'); // the global value: environments are not in KV
    const [pair] = (await (await kv('GET', 'kvwrite/limits')).json()) as Record<string, unknown>[];
    expect(pair).toEqual({
      LockIndex: 0,
      Key: 'kvwrite/limits',
      Flags: 0,
      Value: expect.any(String),
      CreateIndex: expect.any(Number),
      ModifyIndex: expect.any(Number),
    });
    expect(pair!['CreateIndex']).toBe(pair!['ModifyIndex']);
  });

  it('?cas is compare-and-set on the ModifyIndex (0: create only); a failed one answers false and writes nothing', async () => {
    type Pair = { ModifyIndex: number; CreateIndex: number };
    expect(await (await kv('PUT', 'kvcas/a?cas=0', 'one')).json()).toBe(true);
    expect(await (await kv('PUT', 'kvcas/a?cas=0', 'two')).json()).toBe(false);
    const [pair] = (await (await kv('GET', 'kvcas/a')).json()) as Pair[];
    expect(pair!.CreateIndex).toBe(pair!.ModifyIndex);
    expect(await (await kv('PUT', 'kvcas/a?cas=1', 'three')).json()).toBe(false); // its version is 1, its ModifyIndex is not
    expect(await (await kv('PUT', `kvcas/a?cas=${pair!.ModifyIndex}`, 'four')).json()).toBe(true);
    expect(await (await kv('PUT', 'kvcas/a?cas=99999999999', 'five')).json()).toBe(false);
    expect(await configOf('kvcas.a')).toMatchObject({ value: 'four', version: 2 });
    const [changed] = (await (await kv('GET', 'kvcas/a')).json()) as Pair[];
    expect(changed).toMatchObject({ CreateIndex: pair!.CreateIndex, ModifyIndex: expect.any(Number) });
    expect(changed!.ModifyIndex).toBeGreaterThan(pair!.ModifyIndex);
    expect(await (await kv('DELETE', `kvcas/a?cas=${pair!.ModifyIndex}`)).json()).toBe(false);
    expect(await (await kv('DELETE', 'kvcas/a?cas=2')).json()).toBe(false);
    expect(await configOf('kvcas.a')).toMatchObject({ value: 'four', version: 2 });
    expect(await (await kv('DELETE', `kvcas/a?cas=${changed!.ModifyIndex}`)).json()).toBe(true);
    expect(await configOf('kvcas.a')).toBeNull();
    // Recreated after a deletion: CreateIndex says where this life began.
    await kv('PUT', 'kvcas/a', 'again');
    const [again] = (await (await kv('GET', 'kvcas/a')).json()) as Pair[];
    expect(again!.CreateIndex).toBe(again!.ModifyIndex);
    expect(again!.CreateIndex).toBeGreaterThan(changed!.ModifyIndex);
  });

  it('keeps ?flags (a uint64, every digit) with the value; a PUT without them sets 0', async () => {
    await kv('PUT', 'kvflags/a?flags=18446744073709551615', 'x');
    expect(await (await kv('GET', 'kvflags/a')).text()).toContain('"Flags":18446744073709551615,');
    expect((await configOf('kvflags.a'))?.version).toBe(1);
    await kv('PUT', 'kvflags/a?flags=42', 'x'); // same value, other flags: a change
    expect((await configOf('kvflags.a'))?.version).toBe(2);
    await kv('PUT', 'kvflags/a', 'x');
    expect(await (await kv('GET', 'kvflags/a')).text()).toContain('"Flags":0,');
  });

  it('lists with ?recurse and ?keys (with ?separator), and deletes a tree with ?recurse', async () => {
    for (const key of ['kvtree/app/db/host', 'kvtree/app/db/port', 'kvtree/app/name', 'kvtree/other']) await kv('PUT', key, key);
    const listed = (await (await kv('GET', 'kvtree/app/?recurse')).json()) as { Key: string }[];
    expect(listed.map((pair) => pair.Key)).toEqual(['kvtree/app/db/host', 'kvtree/app/db/port', 'kvtree/app/name']);
    expect(await (await kv('GET', 'kvtree/?keys')).json()).toEqual(['kvtree/app/db/host', 'kvtree/app/db/port', 'kvtree/app/name', 'kvtree/other']);
    expect(await (await kv('GET', 'kvtree/?keys&separator=/')).json()).toEqual(['kvtree/app/', 'kvtree/other']);
    expect(await (await kv('GET', 'kvtree/app/?keys&separator=/')).json()).toEqual(['kvtree/app/db/', 'kvtree/app/name']);
    expect(await (await kv('DELETE', 'kvtree/app/?recurse')).json()).toBe(true);
    expect(await (await kv('GET', 'kvtree/?keys')).json()).toEqual(['kvtree/other']);
    expect((await kv('GET', 'kvtree/app/?recurse')).status).toBe(404);
  });

  it('answers a missing key 404 with an X-Consul-Index above 0', async () => {
    const response = await kv('GET', 'kvmissing/nothing');
    expect(response.status).toBe(404);
    expect(Number(response.headers.get('x-consul-index'))).toBeGreaterThan(0);
    const deleted = await kv('DELETE', 'kvmissing/nothing');
    expect(await deleted.json()).toBe(true);
  });

  it('refuses bad input with 400 in plain text and writes nothing', async () => {
    await kv('PUT', 'kvbad/existing', 'kept');
    const before = await latestEventId();
    const refusals: [string, string | Uint8Array, RegExp][] = [
      ['kvbad/existing?cas=-1', 'x', /Invalid CAS index/],
      ['kvbad/existing?cas=abc', 'x', /Invalid CAS index/],
      ['kvbad/existing?flags=18446744073709551616', 'x', /Invalid flags/],
      ['kvbad/existing?flags=1.5', 'x', /Invalid flags/],
      ['kvbad/existing', 'x'.repeat(200 * 1024), /limit is 131072/],
      ['kvbad/existing', new Uint8Array([0x66, 0xff, 0xfe]), /not valid UTF-8/],
      ['kvbad/existing', 'nul\u0000here', /NUL/],
      ['kvbad/with.dot', 'x', /is not a key here/],
      ['kvbad//double', 'x', /is not a key here/],
      ['kvbad/trailing/', 'x', /is not a key here/],
      ['kvbad/sp%20ace', 'x', /is not a key here/],
      ['', 'x', /Missing key name/],
    ];
    for (const [path, body, message] of refusals) {
      const response = await kv('PUT', path, body);
      const text = await response.text();
      expect([path, response.status, response.headers.get('content-type')]).toEqual([path, 400, 'text/plain; charset=utf-8']);
      expect(text).toMatch(message);
    }
    expect(await latestEventId()).toBe(before);
    expect(await configOf('kvbad.existing')).toMatchObject({ value: 'kept', version: 1 });
  });

  it('needs WRITE to write: a READ token gets 403 and nothing is written', async () => {
    const { createToken } = await admin().request(CreateTokenDocument, { input: { name: 'kv-reader', scopes: ['READ'] } });
    const put = await kv('PUT', 'kvread/a', 'x', createToken.token);
    expect(put.status).toBe(403);
    expect(await put.text()).toMatch(/Permission denied/);
    expect((await kv('DELETE', 'kvread/a', undefined, createToken.token)).status).toBe(403);
    expect(await configOf('kvread.a')).toBeNull();
    await kv('PUT', 'kvread/a', 'x');
    expect((await kv('GET', 'kvread/a?raw', undefined, createToken.token)).status).toBe(200);
  });
});

describe('the npm consul client', () => {
  const consul = () => new Consul({ host: '127.0.0.1', port: Number(new URL(origin()).port), defaults: { token: ADMIN } });

  it('sets, gets and deletes, with cas', async () => {
    const client = consul();
    expect(await client.kv.set({ key: 'npm/feature', value: 'on', cas: 0 })).toBe(true);
    // The client resolves Consul's `false` as undefined (its pipeline drops falsy bodies): the value read after says what happened.
    expect(await client.kv.set({ key: 'npm/feature', value: 'off', cas: 0 })).toBeFalsy();
    const pair = (await client.kv.get('npm/feature')) as { Value: string; ModifyIndex: number };
    expect(pair).toMatchObject({ Value: 'on', ModifyIndex: expect.any(Number) });
    expect(await client.kv.set({ key: 'npm/feature', value: 'off', cas: pair.ModifyIndex + 1 })).toBeFalsy();
    expect(await client.kv.set({ key: 'npm/feature', value: 'off', cas: pair.ModifyIndex })).toBe(true);
    expect(((await client.kv.get('npm/feature')) as { Value: string }).Value).toBe('off');
    expect(await client.kv.del({ key: 'npm/feature', cas: pair.ModifyIndex })).toBeFalsy();
    expect(((await client.kv.get('npm/feature')) as { Value: string }).Value).toBe('off');
    expect(await client.kv.del('npm/feature')).toBe(true);
    expect(await client.kv.get('npm/feature')).toBeUndefined();
  });

  it('blocks on a key until a write wakes it', async () => {
    const client = consul();
    await client.kv.set('npm/blocking', 'v1');
    // With ctx.includeResponse the client answers [response, value], so the test sees X-Consul-Index as a watcher does.
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
    const get = client.kv.get.bind(client.kv) as (options: Record<string, unknown>) => Promise<unknown>;
    const [first] = (await get({ key: 'npm/blocking', ctx })) as [{ headers: Record<string, string> }];
    const index = first.headers['x-consul-index']!;
    const waiting = feedWaiters(registry.node);
    let answeredAt: number | undefined;
    const blocked = (get({ key: 'npm/blocking', index, wait: '30s', ctx }) as Promise<[{ headers: Record<string, string> }, { Value: string }]>).finally(
      () => (answeredAt = Date.now()),
    );
    await feedWaitersReach(registry.node, waiting + 1); // parked on the server
    // An unrelated write does not wake it: its event (applied before the PUT answers) leaves the query parked again.
    await client.kv.set('npm/unrelated', 'x');
    await feedWaitersReach(registry.node, waiting + 1);
    expect(answeredAt).toBeUndefined();
    const writtenAt = Date.now();
    await client.kv.set('npm/blocking', 'v2');
    const [response, pair] = await withTimeout(blocked, 5_000, 'the blocking get did not return after the write');
    expect(pair.Value).toBe('v2');
    expect(Number(response.headers['x-consul-index'])).toBeGreaterThan(Number(index));
    expect(answeredAt).toBeGreaterThanOrEqual(writtenAt); // it waited for the write
  });
});
