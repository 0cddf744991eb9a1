import { beforeAll, describe, expect, it } from 'vitest';
import { useRegistryNode } from './support/nodes.js';

// Operations over a plain JSON POST are answered without yoga's fetch layer (src/server/direct-operations.ts).
// A request with an Origin header always goes through yoga (it adds CORS headers): the same
// operation sent both ways must get the same status, media type and bytes.
const registry = useRegistryNode({ SWITCHBOARD_JIT_AFTER: '1' });

interface Answer {
  status: number;
  type: string | null;
  text: string;
}

async function send(body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(registry.node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The answer served directly (counted) and the one yoga gives the same request. */
async function bothWays(body: unknown, headers: Record<string, string> = {}) {
  const before = registry.node.counters!.directAnswers;
  const direct = await send(body, headers);
  const served = registry.node.counters!.directAnswers - before;
  const viaYoga = await send(body, { ...headers, origin: 'http://dashboard.test' });
  return { direct, viaYoga, served };
}

/** An object nested `levels` deep. */
const deep = (levels: number): unknown => (levels === 0 ? 1 : { a: deep(levels - 1) });

const DISCOVER = 'query Discover($name: String!) { discoverServices(name: $name) { id name version port tags metadata weight health { status } } }';

beforeAll(async () => {
  for (const [index, version] of ['1.0.0', '1.1.0', '2.0.0'].entries()) {
    const input = { id: `direct-${index}`, name: 'direct', version, address: '10.0.0.9', port: 9000 + index, tags: ['a'], metadata: { note: 'ÿ\u{1F600}' } };
    const answer = await send({ query: 'mutation ($input: ServiceDefinitionInput!) { registerService(input: $input) { id } }', variables: { input } });
    expect(JSON.parse(answer.text)).toEqual({ data: { registerService: { id: `direct-${index}` } } });
  }
});

describe('operations answered directly', () => {
  it('answer byte for byte as yoga does, compiled or not', async () => {
    for (let run = 0; run < 3; run++) {
      const { direct, viaYoga, served } = await bothWays({ query: DISCOVER, variables: { name: 'direct' } });
      expect(served).toBe(1);
      expect(direct).toEqual(viaYoga);
      expect(direct.status).toBe(200);
      expect((JSON.parse(direct.text) as { data: { discoverServices: unknown[] } }).data.discoverServices).toHaveLength(3);
    }
  });

  it('answer errors with yoga’s status, media type and masking', async () => {
    const failing = 'query One($id: ID!) { service(id: $id) { id } selectInstance(service: "direct", strategy: CONSISTENT_HASH) { id } }';
    for (const accept of ['*/*', 'application/json', 'application/graphql-response+json']) {
      const { direct, viaYoga, served } = await bothWays({ query: failing, variables: { id: 'nope' } }, { accept });
      expect(served).toBe(1);
      expect(direct).toEqual(viaYoga);
      expect(JSON.parse(direct.text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    // Variables that do not coerce: no data at all, a 400 under graphql-response+json.
    const coercion = { query: DISCOVER, variables: { name: 42 } };
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const { direct, viaYoga } = await bothWays(coercion, { accept });
      expect(direct).toEqual(viaYoga);
      expect(direct.text).toMatch(/String/);
    }
    expect((await bothWays(coercion, { accept: 'application/graphql-response+json' })).direct.status).toBe(400);
  });

  it('answer mutations once, as yoga does, refusals and failures included', async () => {
    const register = 'mutation ($input: ServiceDefinitionInput!) { registerService(input: $input) { id name port } }';
    const input = { id: 'direct-m', name: 'direct-m', address: '10.0.0.10', port: 7000 };
    const events = async () =>
      (JSON.parse((await send({ query: '{ events(first: 1000) { id } }' })).text) as { data: { events: unknown[] } }).data.events.length;
    const before = await events();
    const registered = await bothWays({ query: register, variables: { input } });
    expect(registered.served).toBe(1);
    expect(registered.direct).toEqual(registered.viaYoga);
    // Two registrations of the same instance: the first an event, the second (unchanged) none.
    expect((await events()) - before).toBe(1);

    const cases: [string, unknown][] = [
      ['a failed mutation', { query: 'mutation { unregisterService(id: "direct-none") }' }],
      ['variables nested too deep', { query: register, variables: { input: { ...input, metadata: { a: deep(80) } } } }],
      ['a NUL in a variable', { query: register, variables: { input: { ...input, metadata: { a: 'x\u0000y' } } } }],
    ];
    for (const [what, body] of cases) {
      const { direct, viaYoga, served } = await bothWays(body);
      expect(served, what).toBe(1);
      expect(direct, what).toEqual(viaYoga);
      expect(JSON.parse(direct.text).errors[0].extensions.code, what).toMatch(/NOT_FOUND|BAD_USER_INPUT/);
    }
  });

  it('leave to yoga what only yoga answers, with the same words', async () => {
    const cases: [string, unknown, Record<string, string>?][] = [
      ['an invalid document', { query: '{ discoverServices(name: "direct") { nope } }' }],
      ['a document that does not parse', { query: '{ discoverServices(' }],
      ['a batch', [{ query: DISCOVER, variables: { name: 'direct' } }]],
      ['an unknown member', { query: DISCOVER, variables: { name: 'direct' }, extra: 1 }],
      ['malformed JSON', '{"query": '],
      ['a multipart accept', { query: DISCOVER, variables: { name: 'direct' } }, { accept: 'multipart/mixed' }],
    ];
    for (const [what, body, headers] of cases) {
      const { direct, viaYoga, served } = await bothWays(body, headers);
      expect(served, what).toBe(0);
      expect(direct.status, what).toBe(viaYoga.status);
      expect(direct.text, what).toBe(viaYoga.text);
    }
  });
});
