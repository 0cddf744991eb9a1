import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RegisterComponentDocument, RegisterHealthCheckDocument, RegisterServiceDocument, SetConfigDocument } from '@switchboard/client';
import { instance } from './support/client.js';
import { useRegistryNode } from './support/nodes.js';

/**
 * Property-based fuzzing of every mutation: random values for every argument and
 * input field (wrong types, empty, huge, odd Unicode, NUL bytes, extreme numbers,
 * deep JSON), mixed with plausible ones so that some calls succeed. Whatever
 * comes in: never a 5xx, never INTERNAL, the server stays up, and a call that
 * fails leaves the database exactly as it was.
 */
const registry = useRegistryNode();
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 40);

beforeAll(async () => {
  await registry.client.request(RegisterServiceDocument, { input: instance({ id: 'fuzz-1', name: 'fuzz', ttl: '1h' }) });
  await registry.client.request(RegisterHealthCheckDocument, { serviceId: 'fuzz-1', check: { name: 'ttl', ttl: '1h' } });
  await registry.client.request(RegisterComponentDocument, { input: { type: 'STEP', name: 'FuzzStep', version: '1.0.0' } });
  await registry.client.request(SetConfigDocument, { key: 'fuzz.key', value: { a: 1 } });
});

// --- Values ------------------------------------------------------------------------------

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '🙂'.repeat(300),
  'x'.repeat(5_000),
  '../../etc/passwd',
  "'; drop table services; --",
  '${jndi:ldap://example.invalid/a}',
  '<script>alert(1)</script>',
  '%s%s%s%n',
  '\r\n\t',
  '1e309',
  'NaN',
  '-0',
);
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 300 }), nasty);
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-1, 0, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.MAX_VALUE, 0.5),
);
const deepJson = fc.integer({ min: 30, max: 300 }).map((depth) => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { nested: value };
  return value;
});
const json = fc.oneof(fc.jsonValue({ maxDepth: 4 }), deepJson, fc.array(fc.integer(), { maxLength: 2_000 }));
const anything: fc.Arbitrary<unknown> = fc.oneof(
  text,
  number,
  fc.boolean(),
  fc.constant(null),
  json,
  fc.array(text, { maxLength: 5 }),
  fc.dictionary(text, text, { maxKeys: 5 }),
);

/** Usually hostile, sometimes plausible: plausible values let some calls through to the domain. */
const either = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ weight: 2, arbitrary: anything }, { weight: 1, arbitrary: plausible });
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const ids = either(fc.constantFrom('fuzz-1', 'fuzz-1:ttl', 'FuzzStep@1.0.0', 'nope'));
const durations = either(fc.constantFrom('30s', '1h', '250ms', '0s', '-5s', '99999h'));

const checkInput = fc.record(
  {
    name: optional(either(fc.constantFrom('c', 'health'))),
    http: optional(either(fc.constantFrom('http://127.0.0.1:9/health', 'ftp://x', 'http://[::1]:1/'))),
    tcp: optional(either(fc.constantFrom('127.0.0.1:9', 'host:99999'))),
    grpc: optional(either(fc.constantFrom('127.0.0.1:9/svc'))),
    script: optional(either(fc.constantFrom('/bin/true'))),
    args: optional(anything),
    headers: optional(anything),
    ttl: optional(durations),
    interval: optional(durations),
    timeout: optional(durations),
    successBeforePassing: optional(either(fc.integer({ min: -2, max: 200 }))),
    failuresBeforeCritical: optional(either(fc.integer({ min: -2, max: 200 }))),
    deregisterCriticalServiceAfter: optional(durations),
  },
  { requiredKeys: [] },
);

const mutations: { name: string; document: string; variables: fc.Arbitrary<Record<string, unknown>> }[] = [
  {
    name: 'registerService',
    document: 'mutation ($input: ServiceDefinitionInput!) { registerService(input: $input) { id } }',
    variables: fc.record({
      input: fc.record(
        {
          id: either(fc.constantFrom('fuzz-2', 'fuzz-1')),
          name: either(fc.constantFrom('fuzz', 'other')),
          version: either(fc.constantFrom('1.0.0', 'v2.3.4', '1.0')),
          address: either(fc.constantFrom('10.0.0.1', '::1', 'host.example')),
          port: either(fc.integer({ min: 0, max: 70_000 })),
          tags: optional(either(fc.array(text, { maxLength: 70 }))),
          metadata: optional(either(fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 70 }))),
          endpoints: optional(anything),
          protocols: optional(anything),
          weight: optional(either(fc.integer({ min: -5, max: 20_000 }))),
          priority: optional(either(fc.integer({ min: -5, max: 20_000 }))),
          ttl: optional(durations),
          healthCheck: optional(either(checkInput)),
        },
        { requiredKeys: [] },
      ),
    }),
  },
  { name: 'unregisterService', document: 'mutation ($id: ID!) { unregisterService(id: $id) }', variables: fc.record({ id: ids }) },
  { name: 'heartbeat', document: 'mutation ($id: ID!) { heartbeat(id: $id) { id } }', variables: fc.record({ id: ids }) },
  {
    name: 'updateWeight',
    document: 'mutation ($id: ID!, $weight: Int!) { updateWeight(id: $id, weight: $weight) { id } }',
    variables: fc.record({ id: ids, weight: either(fc.integer({ min: -10, max: 20_000 })) }),
  },
  {
    name: 'reportCallOutcome',
    document: 'mutation ($id: ID!, $success: Boolean!, $latency: Duration) { reportCallOutcome(id: $id, success: $success, latency: $latency) { id } }',
    variables: fc.record({ id: ids, success: either(fc.boolean()), latency: optional(durations) }),
  },
  {
    name: 'registerHealthCheck',
    document: 'mutation ($serviceId: ID!, $check: HealthCheckInput!) { registerHealthCheck(serviceId: $serviceId, check: $check) { id } }',
    variables: fc.record({ serviceId: ids, check: either(checkInput) }),
  },
  { name: 'deregisterHealthCheck', document: 'mutation ($id: ID!) { deregisterHealthCheck(id: $id) }', variables: fc.record({ id: ids }) },
  {
    name: 'updateTtlCheck',
    document: 'mutation ($id: ID!, $status: HealthStatusType!, $output: String) { updateTtlCheck(checkId: $id, status: $status, output: $output) { id } }',
    variables: fc.record({ id: ids, status: either(fc.constantFrom('PASSING', 'WARNING', 'CRITICAL', 'UNKNOWN')), output: optional(text) }),
  },
  {
    name: 'setMaintenance',
    document: 'mutation ($id: ID!, $enabled: Boolean!, $reason: String) { setMaintenance(id: $id, enabled: $enabled, reason: $reason) { id } }',
    variables: fc.record({ id: ids, enabled: either(fc.boolean()), reason: optional(text) }),
  },
  {
    name: 'registerComponent',
    document: 'mutation ($input: ComponentInput!) { registerComponent(input: $input) { id } }',
    variables: fc.record({
      input: fc.record(
        {
          id: optional(ids),
          type: either(fc.constantFrom('STEP', 'FLOW', 'WIDGET')),
          name: either(fc.constantFrom('FuzzStep', 'Other', '@scope/x')),
          version: either(fc.constantFrom('1.0.0', '2.0.0-beta.1', 'one')),
          description: optional(text),
          dependencies: optional(either(fc.array(fc.constantFrom('a', 'a@^1', 'b@not a range', '@s/x@1.x'), { maxLength: 70 }))),
          metadata: optional(json),
        },
        { requiredKeys: [] },
      ),
    }),
  },
  { name: 'unregisterComponent', document: 'mutation ($id: ID!) { unregisterComponent(id: $id) }', variables: fc.record({ id: ids }) },
  {
    name: 'setConfig',
    document:
      'mutation ($key: String!, $value: JSON!, $environment: String, $expectedVersion: Int, $secret: Boolean) { setConfig(key: $key, value: $value, environment: $environment, expectedVersion: $expectedVersion, secret: $secret) { key } }',
    variables: fc.record({
      key: either(fc.constantFrom('fuzz.key', 'fuzz.other', 'bad key')),
      value: anything,
      environment: optional(either(fc.constantFrom('prod', ''))),
      expectedVersion: optional(either(fc.integer({ min: -2, max: 5 }))),
      secret: optional(either(fc.boolean())),
    }),
  },
  {
    name: 'deleteConfig',
    document:
      'mutation ($key: String!, $environment: String, $expectedVersion: Int) { deleteConfig(key: $key, environment: $environment, expectedVersion: $expectedVersion) }',
    variables: fc.record({ key: either(fc.constantFrom('fuzz.key', 'nope.key')), environment: optional(text), expectedVersion: optional(number) }),
  },
  {
    name: 'rollbackConfig',
    document:
      'mutation ($key: String!, $environment: String, $version: Int!) { rollbackConfig(key: $key, environment: $environment, version: $version) { key } }',
    variables: fc.record({ key: either(fc.constantFrom('fuzz.key')), environment: optional(text), version: either(fc.integer({ min: -1, max: 5 })) }),
  },
  {
    name: 'publishEvent',
    document: 'mutation ($input: EventInput!) { publishEvent(input: $input) { id } }',
    variables: fc.record({
      input: fc.record(
        { type: either(fc.constantFrom('fuzz.happened', 'service.registered', 'x')), source: either(fc.constantFrom('fuzzer')), data: optional(json) },
        { requiredKeys: [] },
      ),
    }),
  },
  {
    name: 'createToken',
    document: 'mutation ($input: TokenInput!) { createToken(input: $input) { id } }',
    variables: fc.record({
      input: fc.record(
        {
          name: either(fc.constantFrom('fuzz-token')),
          scopes: either(fc.array(fc.constantFrom('READ', 'WRITE', 'ADMIN', 'ROOT'), { maxLength: 4 })),
          servicePrefix: optional(text),
          keyPrefix: optional(text),
          expiresIn: optional(durations),
        },
        { requiredKeys: [] },
      ),
    }),
  },
  { name: 'revokeToken', document: 'mutation ($id: ID!) { revokeToken(id: $id) }', variables: fc.record({ id: ids }) },
];

// --- Checks ------------------------------------------------------------------------------

/** Every row of every table the API writes, hashed: any write at all changes it. */
async function fingerprint(): Promise<string> {
  const tables = ['services', 'health_checks', 'health_transitions', 'circuit_breakers', 'components', 'config_entries', 'config_history', 'events', 'tokens'];
  const parts = await Promise.all(
    tables.map(async (table) => {
      const [row] = await registry.database.sql.unsafe(`select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) as digest from ${table} t`);
      return `${table}:${row!['digest']}`;
    }),
  );
  return parts.join('|');
}

async function send(document: string, variables: Record<string, unknown>) {
  const response = await fetch(registry.node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: document, variables }),
  });
  const body = (await response.json().catch(() => undefined)) as { errors?: { message: string; extensions?: { code?: string } }[] } | undefined;
  return { status: response.status, errors: body?.errors ?? [] };
}

describe('hostile input to every mutation', () => {
  it.each(mutations)('$name: never a 5xx or INTERNAL; a failed call writes nothing', async ({ document, variables }) => {
    await fc.assert(
      fc.asyncProperty(variables, async (vars) => {
        const before = await fingerprint();
        const { status, errors } = await send(document, vars);
        expect(status, JSON.stringify(vars).slice(0, 300)).toBeLessThan(500);
        for (const error of errors) {
          expect(error.extensions?.code, `${error.message} for ${JSON.stringify(vars).slice(0, 300)}`).toBeDefined();
          expect(error.extensions?.code, `${error.message} for ${JSON.stringify(vars).slice(0, 300)}`).not.toBe('INTERNAL');
        }
        if (errors.length > 0) expect(await fingerprint(), `a failed call wrote: ${JSON.stringify(vars).slice(0, 300)}`).toBe(before);
      }),
      { numRuns: RUNS },
    );
    // Alive and well afterwards.
    expect((await send('{ latestEventId }', {})).status).toBe(200);
  });
});
