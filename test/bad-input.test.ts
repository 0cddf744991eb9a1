import { describe, expect, it } from 'vitest';
import { EventsDocument, RegisterServiceDocument } from '@switchboard/client';
import { instance } from './support/client.js';
import { useRegistryNode } from './support/nodes.js';

const registry = useRegistryNode({ SWITCHBOARD_MAX_BODY_BYTES: String(256 * 1024) });

/** Sends a raw GraphQL request, bypassing the typed client, so anything can be sent. */
async function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const response = await fetch(registry.node.url, { method: 'POST', headers, body });
  const text = await response.text();
  let json: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

const REGISTER = 'mutation R($input: ServiceDefinitionInput!) { registerService(input: $input) { id } }';

async function registerRaw(input: unknown) {
  return post(JSON.stringify({ query: REGISTER, variables: { input } }));
}

async function countRows() {
  const [row] = await registry.database.sql`select (select count(*) from services)::int as services, (select count(*) from events)::int as events`;
  return row as { services: number; events: number };
}

const longText = (length: number) => 'x'.repeat(length);
const deepJson = (depth: number): unknown => (depth === 0 ? 'leaf' : { next: deepJson(depth - 1) });

// Each case is one class of bad input; every one must be refused with BAD_USER_INPUT and write nothing.
const badDefinitions: [string, Record<string, unknown>][] = [
  ['empty name', { name: '' }],
  ['name with spaces', { name: 'my service' }],
  ['name too long', { name: longText(129) }],
  ['name with an unpaired surrogate', { name: 'api\ud800' }],
  ['id with a NUL byte', { id: 'a\u0000b' }],
  ['id with a slash', { id: 'a/b' }],
  ['id too long', { id: longText(129) }],
  ['version not semver', { version: 'latest' }],
  ['address not a host', { address: 'not a host!' }],
  ['address too long', { address: `${longText(60)}.${longText(60)}.${longText(60)}.${longText(60)}.${longText(60)}` }],
  ['port zero', { port: 0 }],
  ['port too large', { port: 65536 }],
  ['port as a string', { port: '8080' }],
  ['port fractional', { port: 80.5 }],
  ['negative weight', { weight: -1 }],
  ['weight too large', { weight: 1_000_000 }],
  ['negative priority', { priority: -5 }],
  ['too many tags', { tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }],
  ['tag too long', { tags: [longText(129)] }],
  ['empty tag', { tags: [''] }],
  ['tag with a newline', { tags: ['a\nb'] }],
  ['tags not a list of strings', { tags: [1, 2] }],
  ['metadata an array', { metadata: ['a'] }],
  ['metadata a number', { metadata: 42 }],
  ['metadata with a non-string value', { metadata: { replicas: 3 } }],
  ['metadata with a nested object', { metadata: { nested: { a: 'b' } } }],
  ['metadata with too many keys', { metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }],
  ['metadata key with spaces', { metadata: { 'bad key': 'v' } }],
  ['metadata value too long', { metadata: { k: longText(513) } }],
  ['metadata value with NUL', { metadata: { k: 'a\u0000' } }],
  ['endpoint path without a slash', { endpoints: [{ path: 'users', method: 'GET' }] }],
  ['endpoint method not a word', { endpoints: [{ path: '/users', method: 'GET /x' }] }],
  ['endpoint response status out of range', { endpoints: [{ path: '/', method: 'GET', responses: [{ status: 999 }] }] }],
  ['endpoint response schema too deep', { endpoints: [{ path: '/', method: 'GET', responses: [{ status: 200, schema: deepJson(40) }] }] }],
  ['endpoint response schema with NUL', { endpoints: [{ path: '/', method: 'GET', responses: [{ status: 200, schema: { a: 'x\u0000' } }] }] }],
  ['endpoint parameter in an unknown place', { endpoints: [{ path: '/', method: 'GET', parameters: [{ name: 'x', in: 'SOMEWHERE' }] }] }],
  ['too many endpoints', { endpoints: Array.from({ length: 129 }, (_, i) => ({ path: `/p${i}`, method: 'GET' })) }],
  ['protocol not a name', { protocols: ['http/2'] }],
  ['ttl not a duration', { ttl: 'forever' }],
  ['ttl as a number', { ttl: 30 }],
  ['ttl zero', { ttl: '0s' }],
  ['ttl negative', { ttl: '-5s' }],
  ['ttl too short', { ttl: '10ms' }],
  ['ttl too long', { ttl: '48h' }],
  ['unknown field', { color: 'blue' }],
  ['missing required field', { name: undefined }],
];

describe('bad input changes nothing', () => {
  it.each(badDefinitions)('%s -> BAD_USER_INPUT', async (_label, overrides) => {
    const before = await countRows();
    const input = { ...instance(), ...overrides };
    const { status, json } = await registerRaw(input);

    expect(status).toBeLessThan(500);
    expect(json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(json?.errors?.[0]?.message).not.toMatch(/Unexpected error|at .*\.ts:\d+/);
    expect(await countRows()).toEqual(before);
  });

  it('reports every problem of a definition at once, by field', async () => {
    const { json } = await registerRaw({ ...instance(), name: '', port: 0, ttl: '1ms' });
    const error = json!.errors![0]! as unknown as { extensions: { issues: { field: string }[] } };
    expect(error.extensions.issues.map((issue) => issue.field)).toEqual(expect.arrayContaining(['name', 'port', 'ttl']));
  });
});

describe('malformed requests', () => {
  it('malformed JSON is a 400 with a code, and the server stays up', async () => {
    const { status, json } = await post('{"query": "{ latestEventId }"');
    expect(status).toBe(400);
    expect(json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await post(JSON.stringify({ query: '{ latestEventId }' }))).status).toBe(200);
  });

  it('a body over the limit is a 413 and is not processed', async () => {
    const before = await countRows();
    const huge = JSON.stringify({ query: REGISTER, variables: { input: { ...instance(), metadata: { k: longText(300 * 1024) } } } });
    const { status, json } = await post(huge);
    expect(status).toBe(413);
    expect(json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await countRows()).toEqual(before);
  });

  it('a syntax error in the document is BAD_USER_INPUT', async () => {
    const { json } = await post(JSON.stringify({ query: '{ discoverServices(name: ' }));
    expect(json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('an unknown field is BAD_USER_INPUT', async () => {
    const { json } = await post(JSON.stringify({ query: '{ nothingHere }' }));
    expect(json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('several operations and no operationName is BAD_USER_INPUT, and runs none of them', async () => {
    const before = await countRows();
    const query = 'mutation A { registerService(input: { name: "a", address: "10.0.0.1", port: 80, version: "1.0.0" }) { id } } query B { __typename }';
    const { status, json } = await post(JSON.stringify({ query }));
    expect(status).toBe(400);
    expect(json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(json?.errors?.[0]?.message).toMatch(/operation/i);
    expect(await countRows()).toEqual(before);
  });

  it('a mutation over GET is refused', async () => {
    const query = encodeURIComponent(`mutation { registerService(input: { id: "get-1", name: "api", version: "1.0.0", address: "h", port: 1 }) { id } }`);
    const response = await fetch(`${registry.node.url}?query=${query}`);
    expect(response.status).toBe(405);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect((await countRows()).services).toBe(0);
  });

  it('a body that is not JSON is refused with a 4xx', async () => {
    const { status } = await post('registerService please', { 'content-type': 'text/plain' });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
  });

  it('an event cursor that is not an id, or lies in the future, is BAD_USER_INPUT', async () => {
    const { json } = await post(JSON.stringify({ query: '{ events(after: "yesterday") { id } }' }));
    expect(json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await post(JSON.stringify({ query: '{ events(first: 100000) { id } }' }));
    expect(tooMany.json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badType = await post(JSON.stringify({ query: '{ events(types: ["no spaces allowed"]) { id } }' }));
    expect(badType.json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('the server still answers after all of the above', async () => {
    const registered = await registry.client.request(RegisterServiceDocument, { input: instance({ id: 'after-abuse' }) });
    expect(registered.registerService.id).toBe('after-abuse');
    const { events } = await registry.client.request(EventsDocument, {});
    expect(events).toHaveLength(1);
  });
});
