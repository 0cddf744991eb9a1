import { beforeAll, describe, expect, it } from 'vitest';
import { spawnNode, useRegistryNode } from './support/nodes.js';

// Compile from the second run, as in production: the first answer comes from
// graphql-js, the later ones from graphql-jit, and they must not differ.
const registry = useRegistryNode({ SWITCHBOARD_JIT_AFTER: '1' });

type Body = { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };

/** Runs one operation; `compiled` says whether graphql-jit's code answered it (the node's counter moved). */
async function post(query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const before = registry.node.counters!.compiledRuns;
  const response = await fetch(registry.node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables, operationName }),
  });
  const body = (await response.json()) as Body;
  return { status: response.status, body, compiled: registry.node.counters!.compiledRuns > before };
}

/** What the client sees of a run (without how it was served). */
const answer = ({ status, body }: { status: number; body: Body }) => ({ status, body });

const REGISTER = `mutation Register($input: ServiceDefinitionInput!) { registerService(input: $input) { id } }`;

const DISCOVER = `query Discover($name: String!) {
  discoverServices(name: $name) {
    id name version address port tags metadata weight priority ttl registeredAt
    health { status } circuitBreaker { state }
    endpoints { path method parameters { name in required } responses { status schema } }
  }
}`;

// Three instances every test reads; registering them is itself three runs of one mutation.
const registrations: boolean[] = [];
beforeAll(async () => {
  for (let i = 1; i <= 3; i++) {
    const registered = await post(REGISTER, {
      input: {
        id: `jit-${i}`,
        name: 'jit',
        version: `1.${i}.0`,
        address: '10.0.0.1',
        port: 8000 + i,
        tags: ['a', `t${i}`],
        metadata: { zone: `z${i}`, note: 'ÿ\u{1F600} ✓' },
        endpoints: [{ path: '/x', method: 'GET', parameters: [{ name: 'q', in: 'QUERY' }], responses: [{ status: 200, schema: { type: 'object' } }] }],
        ttl: '1m',
      },
    });
    expect(registered.body).toEqual({ data: { registerService: { id: `jit-${i}` } } });
    registrations.push(registered.compiled);
  }
});

describe('compiled operations', () => {
  it('answer exactly as the first, interpreted run did', async () => {
    expect(registrations, 'mutations are compiled too').toEqual([false, true, true]);
    const runs = [];
    for (let run = 0; run < 4; run++) runs.push(await post(DISCOVER, { name: 'jit' }));
    expect(runs[0]!.body.errors).toBeUndefined();
    expect((runs[0]!.body.data as { discoverServices: unknown[] }).discoverServices).toHaveLength(3);
    expect(runs.map((run) => run.compiled)).toEqual([false, true, true, true]);
    for (const later of runs.slice(1)) expect(answer(later)).toEqual(answer(runs[0]!));
  });

  it('stop a mutation of several fields at the first that fails, as graphql-js does, however hot it is', async () => {
    // The SDK's outcome batches rely on it: what follows a refused outcome was not applied, and is sent again.
    const batch = `mutation Batch {
      o0: reportCallOutcome(id: "jit-1", success: true) { id }
      o1: reportCallOutcome(id: "jit-gone", success: false) { id }
      o2: reportCallOutcome(id: "jit-2", success: false) { id }
    }`;
    const runs = [];
    for (let run = 0; run < 3; run++) runs.push(await post(batch));
    for (const run of runs) expect(run.body.errors?.[0]).toMatchObject({ path: ['o1'], extensions: { code: 'NOT_FOUND' } });
    const breakers = await post(`{ a: service(id: "jit-1") { circuitBreaker { calls } } b: service(id: "jit-2") { circuitBreaker { calls } } }`);
    expect(breakers.body.data).toEqual({ a: { circuitBreaker: { calls: 3 } }, b: { circuitBreaker: { calls: 0 } } });
  });

  it('report errors with the same codes and masking', async () => {
    const unknown = `query One($id: ID!) { service(id: $id) { id } selectInstance(service: "jit", strategy: CONSISTENT_HASH) { id } }`;
    const runs = [];
    for (let run = 0; run < 3; run++) runs.push(await post(unknown, { id: 'nope' }));
    expect(runs[0]!.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(runs.map((run) => run.compiled)).toEqual([false, true, true]);
    for (const later of runs.slice(1)) expect(answer(later)).toEqual(answer(runs[0]!));

    const badVariable = `query Bad($name: String!) { discoverServices(name: $name) { id } }`;
    const coerced = [];
    for (let run = 0; run < 3; run++) coerced.push(await post(badVariable, { name: 42 }));
    expect(coerced[0]!.body.errors?.[0]?.message).toMatch(/String/);
    // Compiled code ran, found the variables wrong, and handed the request back to
    // graphql-js for its wording: not counted as served compiled.
    expect(coerced.map((run) => run.compiled)).toEqual([false, false, false]);
    for (const later of coerced.slice(1)) expect(answer(later)).toEqual(answer(coerced[0]!));
  });

  it('keep operations of one document apart', async () => {
    const document = `query Names { discoverServices(name: "jit") { id } } query Ports { discoverServices(name: "jit") { port } }`;
    for (let run = 0; run < 3; run++) {
      const names = await post(document, {}, 'Names');
      const ports = await post(document, {}, 'Ports');
      expect(names.body.data).toEqual({ discoverServices: [{ id: 'jit-1' }, { id: 'jit-2' }, { id: 'jit-3' }] });
      expect(ports.body.data).toEqual({ discoverServices: [{ port: 8001 }, { port: 8002 }, { port: 8003 }] });
      // Each operation is compiled on its own second run.
      expect([names.compiled, ports.compiled], `run ${run}`).toEqual([run > 0, run > 0]);
    }
    const unnamed = await post(document);
    expect(unnamed.body.errors?.[0]?.message).toMatch(/operation/);
    expect(unnamed.compiled).toBe(false);
  });
});

describe('a JSON literal in the operation', () => {
  it('with a variable inside answers with that variable on every run (it stays on graphql-js)', async () => {
    const put = `mutation Put($limit: Int) { setConfig(key: "jit.literal", value: { limit: $limit, on: true }) { value } }`;
    const runs = [];
    for (let limit = 1; limit <= 3; limit++) runs.push(await post(put, { limit }));
    expect(runs.map((run) => run.body)).toEqual([1, 2, 3].map((limit) => ({ data: { setConfig: { value: { limit, on: true } } } })));
    expect(runs.map((run) => run.compiled)).toEqual([false, false, false]);
  });

  it("leaves a spawned server's stderr empty and every stdout line JSON", async () => {
    // The production default (compile from the second run), in a real process, whose
    // stderr a console.error from graphql-jit would reach.
    const node = await spawnNode({ DATABASE_URL: registry.database.url, SWITCHBOARD_JIT_AFTER: undefined });
    try {
      const put = `mutation { setConfig(key: "jit.stderr", value: { limit: 5, zones: ["a", "b"] }) { value } }`;
      for (let run = 0; run < 3; run++) {
        const response = await fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: put }) });
        expect(await response.json()).toEqual({ data: { setConfig: { value: { limit: 5, zones: ['a', 'b'] } } } });
      }
    } finally {
      await node.stop();
    }
    expect(node.stderr()).toBe('');
    expect(node.stdoutLines.length).toBeGreaterThan(0);
    for (const line of node.stdoutLines) expect(() => JSON.parse(line), line).not.toThrow();
  });
});
