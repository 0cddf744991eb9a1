import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceInstance as DeliveredInstance } from '@switchboard/sdk';
import { acquireLeadership } from '../src/registry/leadership/index.js';
import { reconcileSource, sourceRole, wantedInstances } from '../src/registry/sources/index.js';
import { runCli } from './support/cli.js';
import { useRegistryNode } from './support/nodes.js';

// One access table, every adapter: (principal, operation, target) -> outcome, run over GraphQL
// on HTTP, GraphQL on WebSocket, the Consul API and the `switchboard` command line wherever the
// operation exists there. Who
// may do what is decided in the domain, so every adapter must give the same answer; a refusal
// must also write nothing (no event by that principal), and a success must write (an event).

const ADMIN_TOKEN = 'access-matrix-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN, SWITCHBOARD_ENABLE_SCRIPT_CHECKS: 'true' });

type PrincipalName = 'none' | 'read' | 'writeA' | 'write' | 'admin';
type Outcome = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT';
type Adapter = 'graphql-http' | 'graphql-ws' | 'consul' | 'cli';

const PRINCIPALS: PrincipalName[] = ['none', 'read', 'writeA', 'write', 'admin'];
const ADAPTERS: Adapter[] = ['graphql-http', 'graphql-ws', 'consul', 'cli'];

/** Who owns a target, which decides the expected outcome for each principal. */
type Owner = 'reader' | 'team-a' | 'team-b' | 'admin' | 'writer' | 'source';

const EXPECTED: Record<Owner, Record<PrincipalName, Outcome>> = {
  reader: { none: 'UNAUTHENTICATED', read: 'ok', writeA: 'ok', write: 'ok', admin: 'ok' },
  writer: { none: 'UNAUTHENTICATED', read: 'FORBIDDEN', writeA: 'ok', write: 'ok', admin: 'ok' },
  'team-a': { none: 'UNAUTHENTICATED', read: 'FORBIDDEN', writeA: 'ok', write: 'ok', admin: 'ok' },
  'team-b': { none: 'UNAUTHENTICATED', read: 'FORBIDDEN', writeA: 'FORBIDDEN', write: 'ok', admin: 'ok' },
  admin: { none: 'UNAUTHENTICATED', read: 'FORBIDDEN', writeA: 'FORBIDDEN', write: 'FORBIDDEN', admin: 'ok' },
  // An instance followed from a source (SWITCHBOARD_SOURCES) is read-only here, whoever asks.
  source: { none: 'UNAUTHENTICATED', read: 'FORBIDDEN', writeA: 'FORBIDDEN', write: 'FORBIDDEN', admin: 'FORBIDDEN' },
};

interface GraphQLCall {
  query: string;
  variables?: Record<string, unknown>;
}

interface ConsulCall {
  method: 'GET' | 'PUT' | 'DELETE';
  /** Sent as written: no URL normalisation on the way. */
  path: string;
  body?: unknown;
}

interface Case {
  name: string;
  owner: Owner;
  /** Overrides of the owner's table (a refusal that holds for everyone, say). */
  expect?: Partial<Record<PrincipalName, Outcome | Outcome[]>>;
  /** Reads, and writes that may legitimately write no event (a no-op). */
  writesNothing?: boolean;
  /** Creates what the operation acts on, as the admin; its answer is handed to the calls. */
  prepare?: () => Promise<string>;
  graphql?: (target: string) => GraphQLCall;
  consul?: (target: string) => ConsulCall;
  /**
   * The `switchboard` arguments doing the same. Each is a process (about half a second of CPU), so the CLI
   * runs a row of each kind of write it offers (services own and another team's, maintenance, keys, a traversal,
   * tokens), not every row.
   */
  cli?: (target: string) => string[];
}

// ---------------------------------------------------------------------------------------------
// Clients

const secrets = {} as Record<PrincipalName, string | undefined>;
const actorIds = {} as Record<PrincipalName, string>;

interface GraphQLAnswer {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function graphqlOverHttp(principal: PrincipalName, call: GraphQLCall): Promise<Outcome | string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const secret = secrets[principal];
  if (secret) headers['authorization'] = `Bearer ${secret}`;
  const response = await fetch(registry.node.url, { method: 'POST', headers, body: JSON.stringify(call) });
  return outcomeOf((await response.json()) as GraphQLAnswer);
}

const sockets: Client[] = [];

function socketOf(principal: PrincipalName): Client {
  const secret = secrets[principal];
  const client = createClient({
    url: registry.node.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: secret ? { authorization: `Bearer ${secret}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
  sockets.push(client);
  return client;
}

async function graphqlOverWebSocket(principal: PrincipalName, call: GraphQLCall): Promise<Outcome | string> {
  const client = socketOf(principal);
  try {
    const answer = await new Promise<GraphQLAnswer>((resolve, reject) => {
      let result: GraphQLAnswer = {};
      client.subscribe(call, {
        next: (value) => (result = value as GraphQLAnswer),
        error: (error) => {
          // The server refuses an unauthenticated connection by closing it with 4401.
          const code = (error as { code?: number }).code;
          if (code === 4401) resolve({ errors: [{ message: 'closed 4401', extensions: { code: 'UNAUTHENTICATED' } }] });
          else if (Array.isArray(error)) resolve({ errors: error as GraphQLAnswer['errors'] });
          else reject(error instanceof Error ? error : new Error(`socket error ${String(code)}`));
        },
        complete: () => resolve(result),
      });
    });
    return outcomeOf(answer);
  } finally {
    await client.dispose();
  }
}

function outcomeOf(answer: GraphQLAnswer): Outcome | string {
  if (answer.errors?.length) return answer.errors[0]!.extensions?.code ?? `no code: ${answer.errors[0]!.message}`;
  return 'ok';
}

/** Consul's answers: 200 done; 400 bad input; 403 "Permission denied" for a missing, unknown or insufficient token. */
async function consul(principal: PrincipalName, call: ConsulCall): Promise<Outcome | string> {
  const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  const secret = secrets[principal];
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: registry.node.port, method: call.method, path: call.path, headers: secret ? { 'x-consul-token': secret } : {} },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, text: Buffer.concat(chunks).toString() }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
  if (status === 200) return 'ok';
  if (status === 400) return 'BAD_USER_INPUT';
  if (status === 403) return principal === 'none' ? 'UNAUTHENTICATED' : 'FORBIDDEN';
  return `${status} ${text.slice(0, 200)}`;
}

/**
 * `switchboard ... --json` with the principal's token: exit 0 is done; otherwise the --json error's code, which
 * must agree with the exit code (6 for UNAUTHENTICATED and FORBIDDEN, 2 for BAD_USER_INPUT).
 */
async function cli(principal: PrincipalName, args: string[]): Promise<Outcome | string> {
  const result = await runCli([...args, '--json'], { env: { SWITCHBOARD_URL: registry.node.url, SWITCHBOARD_TOKEN: secrets[principal] } });
  if (result.code === 0) return 'ok';
  let code: string | undefined;
  try {
    code = result.json<{ error?: { code?: string } }>().error?.code;
  } catch {
    return `exit ${result.code}: ${result.stderr.slice(0, 200)}`;
  }
  const exitFor: Record<string, number> = { UNAUTHENTICATED: 6, FORBIDDEN: 6, BAD_USER_INPUT: 2 };
  return code !== undefined && exitFor[code] === result.code ? code : `exit ${result.code} with ${code}: ${result.stderr.slice(0, 200)}`;
}

async function asAdmin(query: string, variables: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const response = await fetch(registry.node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const answer = (await response.json()) as GraphQLAnswer;
  if (answer.errors?.length) throw new Error(`set-up failed: ${answer.errors[0]!.message}`);
  return answer.data as Record<string, unknown>;
}

/** Events appended by one principal (its token id is each event's actor). */
async function eventsBy(principal: PrincipalName): Promise<number> {
  const [row] = await registry.database.sql`select count(*)::int as n from events where actor->>'id' = ${actorIds[principal]}`;
  return row!['n'] as number;
}

// ---------------------------------------------------------------------------------------------
// Fixtures: two teams' services, checks, keys, components, rules and silences, made by the admin.

const unique = () => randomUUID().slice(0, 8);
/** A value no earlier call had (a random one may repeat, and a write of the same value writes no event). */
let counter = 1;
const nextNumber = () => ++counter;
const fixture = { checkB: '', ruleA: '', ruleB: '' };

const REGISTER = `mutation($input: ServiceDefinitionInput!) { registerService(input: $input) { id checks { id } } }`;
const REGISTER_MANY = `mutation($inputs: [ServiceDefinitionInput!]!) { registerServices(inputs: $inputs) { id } }`;
const REGISTER_CHECK = `mutation($id: ID!, $check: HealthCheckInput!) { registerHealthCheck(serviceId: $id, check: $check) { id } }`;
const CREATE_RULE = `mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { id } }`;
const CREATE_SILENCE = `mutation($input: SilenceInput!) { createSilence(input: $input) { id } }`;

async function registerInstance(id: string, name: string): Promise<void> {
  await asAdmin(REGISTER, { input: { id, name, address: '10.0.0.1', port: 80 } });
}

async function addTtlCheck(serviceId: string): Promise<string> {
  const data = await asAdmin(REGISTER_CHECK, { id: serviceId, check: { ttl: '1h', id: `${serviceId}-ttl-${unique()}` } });
  return (data['registerHealthCheck'] as { id: string }).id;
}

/** Rules that never fire during the test (`for` an hour, events and keys nobody writes), so they append no alert events. */
async function createRule(input: Record<string, unknown>): Promise<string> {
  const data = await asAdmin(CREATE_RULE, { input: { name: `rule-${unique()}`, ...input } });
  return (data['createAlertRule'] as { id: string }).id;
}

async function createSilence(ruleId: string | null): Promise<string> {
  const input = ruleId === null ? { matchers: { team: 'b' }, duration: '1h', comment: 'all' } : { ruleId, duration: '1h', comment: 'one' };
  const data = await asAdmin(CREATE_SILENCE, { input });
  return (data['createSilence'] as { id: string }).id;
}

async function setKey(key: string): Promise<void> {
  await asAdmin(`mutation($key: String!) { setConfig(key: $key, value: "seed") { version } }`, { key });
}

/**
 * A fresh instance of service "team-a-api" (a name team A's token may write) followed from a source, written as its
 * follower writes it: the source decides, not the name.
 */
const MATRIX_SOURCE = { source: 'matrix-etcd', role: sourceRole('matrix-etcd'), holder: 'access-matrix' };
async function sourceInstance(): Promise<string> {
  const id = `team-a-src-${unique()}`;
  const delivered: DeliveredInstance = {
    ...{ id, name: 'team-a-api', version: null, address: '10.0.0.9', port: 80, tags: [], metadata: {}, endpoints: [], protocols: [], weight: 1 },
    ...{ priority: 0, ttl: null, registeredAt: '', updatedAt: '', lastHeartbeatAt: null, expiresAt: null, health: { status: 'PASSING', output: '' } },
  };
  await acquireLeadership(registry.database.db, MATRIX_SOURCE.role, MATRIX_SOURCE.holder, 3_600_000);
  await reconcileSource(registry.database.db, MATRIX_SOURCE, wantedInstances([delivered]).wanted);
  return id;
}

async function makeToken(name: string, input: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const data = await asAdmin(`mutation($input: TokenInput!) { createToken(input: $input) { id token } }`, { input: { name, ...input } });
  return data['createToken'] as { id: string; token: string };
}

beforeAll(async () => {
  const read = await makeToken('matrix-read', { scopes: ['READ'] });
  const writeA = await makeToken('matrix-team-a', { scopes: ['WRITE'], servicePrefix: 'team-a', keyPrefix: 'team-a' });
  const write = await makeToken('matrix-write', { scopes: ['WRITE'] });
  Object.assign(secrets, { none: undefined, read: read.token, writeA: writeA.token, write: write.token, admin: ADMIN_TOKEN });
  Object.assign(actorIds, { none: 'anonymous', read: read.id, writeA: writeA.id, write: write.id, admin: 'admin' });

  await registerInstance('team-a-api-1', 'team-a-api');
  await registerInstance('team-b-api-1', 'team-b-api');
  fixture.checkB = await addTtlCheck('team-b-api-1');
  fixture.ruleA = await createRule({ kind: 'NO_PASSING', service: 'team-a-api', for: '1h' });
  fixture.ruleB = await createRule({ kind: 'NO_PASSING', service: 'team-b-api', for: '1h' });
  await setKey('team-a.mode');
  await setKey('team-b.mode');
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
});

// ---------------------------------------------------------------------------------------------
// The table

const gql = (query: string, variables: Record<string, unknown> = {}): GraphQLCall => ({ query, variables });

/** A recursive KV delete of a fresh folder of `team`'s keys. */
function recursiveDelete(name: string, team: 'team-a' | 'team-b'): Case {
  return {
    name,
    owner: team,
    prepare: async () => {
      const folder = `${team}.tree-${unique()}`;
      await setKey(`${folder}.x`);
      return folder;
    },
    consul: (folder) => ({ method: 'DELETE', path: `/v1/kv/${folder.replaceAll('.', '/')}?recurse` }),
  };
}

/** Redefines rule `id` as a NO_PASSING rule on `service` (under a new name, so every call changes it). */
const redefineRule = (id: string, service: string): GraphQLCall =>
  gql(`mutation($id: ID!, $input: AlertRuleInput!) { updateAlertRule(id: $id, input: $input) { id } }`, {
    id,
    input: { name: `rule-${unique()}`, kind: 'NO_PASSING', service, for: '1h' },
  });

const CASES: Case[] = [
  // Reads: any token.
  {
    name: 'discover a service',
    owner: 'reader',
    writesNothing: true,
    graphql: () => gql(`{ discoverServices(name: "team-b-api") { id } }`),
    consul: () => ({ method: 'GET', path: '/v1/catalog/service/team-b-api' }),
  },
  {
    name: 'read events',
    owner: 'reader',
    writesNothing: true,
    graphql: () => gql(`{ events(first: 1) { id } }`),
  },
  {
    name: 'read a key',
    owner: 'reader',
    writesNothing: true,
    graphql: () => gql(`{ config(key: "team-b.mode") { value } }`),
    consul: () => ({ method: 'GET', path: '/v1/kv/team-b/mode' }),
  },

  // Services: a name belongs to the tokens whose service prefix it starts with.
  {
    name: "register own team's instance",
    owner: 'team-a',
    graphql: () => gql(REGISTER, { input: { id: 'team-a-api-1', name: 'team-a-api', address: '10.0.0.1', port: 80, tags: [unique()] } }),
    consul: () => ({ method: 'PUT', path: '/v1/agent/service/register', body: { ID: 'team-a-api-1', Name: 'team-a-api', Port: 80, Tags: [unique()] } }),
    cli: () => ['register', '--name', 'team-a-api', '--id', 'team-a-api-1', '--address', '10.0.0.1', '--port', '80', '--tag', unique()],
  },
  {
    name: "register another team's instance",
    owner: 'team-b',
    graphql: () => gql(REGISTER, { input: { id: 'team-b-api-1', name: 'team-b-api', address: '10.0.0.1', port: 80, tags: [unique()] } }),
    consul: () => ({ method: 'PUT', path: '/v1/agent/service/register', body: { ID: 'team-b-api-1', Name: 'team-b-api', Port: 80, Tags: [unique()] } }),
    cli: () => ['register', '--name', 'team-b-api', '--id', 'team-b-api-1', '--address', '10.0.0.1', '--port', '80', '--tag', unique()],
  },
  {
    name: "register own team's instances in one call",
    owner: 'team-a',
    graphql: () => gql(REGISTER_MANY, { inputs: [1, 2].map((n) => ({ id: `team-a-api-${n}`, name: 'team-a-api', address: '10.0.0.1', tags: [unique()] })) }),
  },
  {
    name: "register own and another team's instances in one call",
    owner: 'team-b',
    graphql: () =>
      gql(REGISTER_MANY, {
        inputs: [
          { id: 'team-a-api-1', name: 'team-a-api', address: '10.0.0.1', tags: [unique()] },
          { id: 'team-b-api-1', name: 'team-b-api', address: '10.0.0.1', tags: [unique()] },
        ],
      }),
  },
  {
    name: "take another team's instance id under one's own name",
    owner: 'team-b',
    prepare: async () => {
      const id = `team-b-held-${unique()}`;
      await registerInstance(id, 'team-b-api');
      return id;
    },
    graphql: (id) => gql(REGISTER, { input: { id, name: 'team-a-api', address: '10.0.0.1', port: 80 } }),
    consul: (id) => ({ method: 'PUT', path: '/v1/agent/service/register', body: { ID: id, Name: 'team-a-api', Port: 80 } }),
  },
  {
    name: "unregister another team's instance",
    owner: 'team-b',
    prepare: async () => {
      const id = `team-b-gone-${unique()}`;
      await registerInstance(id, 'team-b-api');
      return id;
    },
    graphql: (id) => gql(`mutation($id: ID!) { unregisterService(id: $id) }`, { id }),
    consul: (id) => ({ method: 'PUT', path: `/v1/agent/service/deregister/${id}` }),
    cli: (id) => ['deregister', id],
  },
  {
    name: "change another team's weight",
    owner: 'team-b',
    graphql: () => gql(`mutation($w: Int!) { updateWeight(id: "team-b-api-1", weight: $w) { id } }`, { w: nextNumber() }),
  },
  {
    name: "put another team's instance in maintenance",
    owner: 'team-b',
    prepare: async () => {
      const id = `team-b-maint-${unique()}`;
      await registerInstance(id, 'team-b-api');
      return id;
    },
    graphql: (id) => gql(`mutation($id: ID!) { setMaintenance(id: $id, enabled: true, reason: "matrix") { id } }`, { id }),
    consul: (id) => ({ method: 'PUT', path: `/v1/agent/service/maintenance/${id}?enable=true&reason=matrix` }),
    cli: (id) => ['maintenance', id, 'on', '--reason', 'matrix'],
  },
  {
    name: "set another team's service policy",
    owner: 'team-b',
    graphql: () => gql(`mutation($n: Int!) { setServicePolicy(service: "team-b-api", minInstances: $n) { service } }`, { n: nextNumber() }),
  },

  // An instance followed from a source: every write refused, whatever the name allows.
  {
    name: "register over a source's instance",
    owner: 'source',
    prepare: sourceInstance,
    graphql: (id) => gql(REGISTER, { input: { id, name: 'team-a-api', address: '10.0.0.1', port: 80 } }),
    consul: (id) => ({ method: 'PUT', path: '/v1/agent/service/register', body: { ID: id, Name: 'team-a-api', Port: 80 } }),
  },
  {
    name: "unregister a source's instance",
    owner: 'source',
    prepare: sourceInstance,
    graphql: (id) => gql(`mutation($id: ID!) { unregisterService(id: $id) }`, { id }),
    consul: (id) => ({ method: 'PUT', path: `/v1/agent/service/deregister/${id}` }),
  },
  {
    name: "put a source's instance in maintenance",
    owner: 'source',
    prepare: sourceInstance,
    graphql: (id) => gql(`mutation($id: ID!) { setMaintenance(id: $id, enabled: true, reason: "matrix") { id } }`, { id }),
    consul: (id) => ({ method: 'PUT', path: `/v1/agent/service/maintenance/${id}?enable=true&reason=matrix` }),
  },
  {
    name: "change a source's instance's weight or lease",
    owner: 'source',
    prepare: sourceInstance,
    graphql: (id) => gql(`mutation($id: ID!) { updateWeight(id: $id, weight: 0) { id } heartbeat(id: $id) { id } }`, { id }),
  },
  {
    name: "add a check to a source's instance",
    owner: 'source',
    prepare: sourceInstance,
    graphql: (id) => gql(REGISTER_CHECK, { id, check: { ttl: '1h', id: `${id}-ttl` } }),
    consul: (id) => ({ method: 'PUT', path: '/v1/agent/check/register', body: { ID: `${id}-ttl`, Name: 'extra', ServiceID: id, TTL: '1h' } }),
  },

  // Checks belong to their instance; script checks are ADMIN's whoever owns the instance.
  {
    name: "add a check to another team's instance",
    owner: 'team-b',
    graphql: () => gql(REGISTER_CHECK, { id: 'team-b-api-1', check: { ttl: '1h', id: `team-b-extra-${unique()}` } }),
    consul: () => ({
      method: 'PUT',
      path: '/v1/agent/check/register',
      body: { ID: `team-b-extra-${unique()}`, Name: 'extra', ServiceID: 'team-b-api-1', TTL: '1h' },
    }),
  },
  {
    name: 'add a script check to own instance',
    owner: 'admin',
    graphql: () => gql(REGISTER_CHECK, { id: 'team-a-api-1', check: { script: '/bin/true', interval: '1h', id: `team-a-script-${unique()}` } }),
    consul: () => ({
      method: 'PUT',
      path: '/v1/agent/check/register',
      body: { ID: `team-a-script-${unique()}`, Name: 'script', ServiceID: 'team-a-api-1', Args: ['/bin/true'], Interval: '1h' },
    }),
  },
  {
    name: 'register own instance with a script check',
    owner: 'admin',
    graphql: () =>
      gql(REGISTER, { input: { id: 'team-a-api-1', name: 'team-a-api', address: '10.0.0.1', port: 80, healthCheck: { script: '/bin/true', interval: '1h' } } }),
    consul: () => ({
      method: 'PUT',
      path: '/v1/agent/service/register',
      body: { ID: 'team-a-api-1', Name: 'team-a-api', Port: 80, Check: { Args: ['/bin/true'], Interval: '1h' } },
    }),
  },
  {
    name: "report another team's TTL check",
    owner: 'team-b',
    writesNothing: true, // reporting the status a check already has changes nothing
    graphql: () =>
      gql(`mutation($id: ID!, $out: String) { updateTtlCheck(checkId: $id, status: WARNING, output: $out) { id } }`, { id: fixture.checkB, out: unique() }),
    consul: () => ({ method: 'PUT', path: `/v1/agent/check/fail/${fixture.checkB}?note=${unique()}` }),
  },
  {
    name: "remove another team's check",
    owner: 'team-b',
    prepare: () => addTtlCheck('team-b-api-1'),
    graphql: (id) => gql(`mutation($id: ID!) { deregisterHealthCheck(id: $id) }`, { id }),
    consul: (id) => ({ method: 'PUT', path: `/v1/agent/check/deregister/${id}` }),
  },

  // Configuration: a key belongs to the tokens whose key prefix it starts with.
  {
    name: 'set own key',
    owner: 'team-a',
    graphql: () => gql(`mutation($v: JSON!) { setConfig(key: "team-a.mode", value: $v) { version } }`, { v: unique() }),
    consul: () => ({ method: 'PUT', path: '/v1/kv/team-a/mode', body: unique() }),
    cli: () => ['config', 'set', 'team-a.mode', unique(), '--string'],
  },
  {
    name: "set another team's key",
    owner: 'team-b',
    graphql: () => gql(`mutation($v: JSON!) { setConfig(key: "team-b.mode", value: $v) { version } }`, { v: unique() }),
    consul: () => ({ method: 'PUT', path: '/v1/kv/team-b/mode', body: unique() }),
    cli: () => ['config', 'set', 'team-b.mode', unique(), '--string'],
  },
  {
    name: "delete another team's key",
    owner: 'team-b',
    prepare: async () => {
      const key = `team-b.gone-${unique()}`;
      await setKey(key);
      return key;
    },
    graphql: (key) => gql(`mutation($key: String!) { deleteConfig(key: $key) }`, { key }),
    consul: (key) => ({ method: 'DELETE', path: `/v1/kv/${key.replaceAll('.', '/')}` }),
    cli: (key) => ['config', 'delete', key],
  },
  {
    name: "roll back another team's key",
    owner: 'team-b',
    prepare: async () => {
      const key = `team-b.rollback-${unique()}`;
      await setKey(key);
      await asAdmin(`mutation($key: String!) { setConfig(key: $key, value: "changed") { version } }`, { key });
      return key;
    },
    graphql: (key) => gql(`mutation($key: String!) { rollbackConfig(key: $key, version: 1) { version } }`, { key }),
  },
  recursiveDelete("delete another team's keys recursively", 'team-b'),
  recursiveDelete('delete own keys recursively', 'team-a'),
  {
    name: 'delete a recursive prefix wider than own',
    owner: 'team-b',
    // "team" covers team-a's keys and team-b's: only an unlimited token may delete them all.
    prepare: async () => {
      await setKey(`team-b.wide-${unique()}`);
      return 'team';
    },
    consul: (prefix) => ({ method: 'DELETE', path: `/v1/kv/${prefix}?recurse` }),
  },
  {
    name: "reach another team's key through ../",
    owner: 'team-b',
    // Refused as a malformed key; the path may be refused before the token is even looked at.
    expect: {
      none: ['UNAUTHENTICATED', 'BAD_USER_INPUT'],
      read: ['FORBIDDEN', 'BAD_USER_INPUT'],
      writeA: 'BAD_USER_INPUT',
      write: 'BAD_USER_INPUT',
      admin: 'BAD_USER_INPUT',
    },
    writesNothing: true,
    graphql: () => gql(`mutation { setConfig(key: "team-a/../team-b.mode", value: 1) { version } }`),
    consul: () => ({ method: 'PUT', path: '/v1/kv/team-a/../team-b/mode', body: 'x' }),
    cli: () => ['config', 'set', 'team-a/../team-b.mode', '1'],
  },
  {
    name: "reach another team's key through %2e%2e",
    owner: 'team-b',
    // Refused as a malformed key; the path may be refused before the token is even looked at.
    expect: {
      none: ['UNAUTHENTICATED', 'BAD_USER_INPUT'],
      read: ['FORBIDDEN', 'BAD_USER_INPUT'],
      writeA: 'BAD_USER_INPUT',
      write: 'BAD_USER_INPUT',
      admin: 'BAD_USER_INPUT',
    },
    writesNothing: true,
    consul: () => ({ method: 'PUT', path: '/v1/kv/team-a/%2e%2e/team-b/mode', body: 'x' }),
  },

  // Components belong to their id, under the service prefix.
  {
    name: 'register own component',
    owner: 'team-a',
    graphql: () =>
      gql(`mutation($input: ComponentInput!) { registerComponent(input: $input) { id } }`, {
        input: { id: 'team-a-step', type: 'STEP', name: 'Team A step', version: '1.0.0', metadata: { run: unique() } },
      }),
  },
  {
    name: "overwrite another team's component",
    owner: 'team-b',
    graphql: () =>
      gql(`mutation($input: ComponentInput!) { registerComponent(input: $input) { id } }`, {
        input: { id: 'team-b-step', type: 'STEP', name: 'Team B step', version: '1.0.0', metadata: { run: unique() } },
      }),
  },
  {
    name: "unregister another team's component",
    owner: 'team-b',
    prepare: async () => {
      const id = `team-b-step-${unique()}`;
      await asAdmin(`mutation($input: ComponentInput!) { registerComponent(input: $input) { id } }`, {
        input: { id, type: 'STEP', name: 'Team B step', version: '1.0.0' },
      });
      return id;
    },
    graphql: (id) => gql(`mutation($id: ID!) { unregisterComponent(id: $id) }`, { id }),
  },

  // Alert rules belong to what they watch; rules watching no service or key are ADMIN's.
  {
    name: 'create a rule on own service',
    owner: 'team-a',
    graphql: () => gql(CREATE_RULE, { input: { name: `rule-${unique()}`, kind: 'NO_PASSING', service: 'team-a-api', for: '1h' } }),
  },
  {
    name: "create a rule on another team's service",
    owner: 'team-b',
    graphql: () => gql(CREATE_RULE, { input: { name: `rule-${unique()}`, kind: 'NO_PASSING', service: 'team-b-api', for: '1h' } }),
  },
  {
    name: "create a rule on another team's keys",
    owner: 'team-b',
    graphql: () => gql(CREATE_RULE, { input: { name: `rule-${unique()}`, kind: 'CONFIG_CHANGED', keyPrefix: 'team-b.', environment: 'nowhere' } }),
  },
  {
    name: 'create a rule watching every service',
    owner: 'admin',
    graphql: () => gql(CREATE_RULE, { input: { name: `rule-${unique()}`, kind: 'SERVICE_STATE', states: ['DOWN'], for: '1h' } }),
  },
  {
    name: "redefine another team's rule",
    owner: 'team-b',
    graphql: () => redefineRule(fixture.ruleB, 'team-b-api'),
  },
  {
    name: "move own rule onto another team's service",
    owner: 'team-b',
    prepare: () => createRule({ kind: 'NO_PASSING', service: 'team-a-api', for: '1h' }),
    graphql: (id) => redefineRule(id, 'team-b-api'),
  },
  {
    name: "take over another team's rule onto own service",
    owner: 'team-b',
    prepare: () => createRule({ kind: 'NO_PASSING', service: 'team-b-api', for: '1h' }),
    graphql: (id) => redefineRule(id, 'team-a-api'),
  },
  {
    name: "delete another team's rule",
    owner: 'team-b',
    prepare: () => createRule({ kind: 'NO_PASSING', service: 'team-b-api', for: '1h' }),
    graphql: (id) => gql(`mutation($id: ID!) { deleteAlertRule(id: $id) }`, { id }),
  },
  {
    name: "delete an admin's rule",
    owner: 'admin',
    prepare: () => createRule({ kind: 'EVENT_SEEN', eventType: 'never.seen' }),
    graphql: (id) => gql(`mutation($id: ID!) { deleteAlertRule(id: $id) }`, { id }),
  },

  // Silences belong to their rule; a silence of every rule is ADMIN's.
  {
    name: "silence another team's rule",
    owner: 'team-b',
    graphql: () => gql(CREATE_SILENCE, { input: { ruleId: fixture.ruleB, duration: '1h', comment: unique() } }),
  },
  {
    name: 'silence own rule',
    owner: 'team-a',
    graphql: () => gql(CREATE_SILENCE, { input: { ruleId: fixture.ruleA, duration: '1h', comment: unique() } }),
  },
  {
    name: 'silence every rule by labels',
    owner: 'admin',
    graphql: () => gql(CREATE_SILENCE, { input: { matchers: { team: 'b' }, duration: '1h', comment: unique() } }),
  },
  {
    name: "expire another team's silence",
    owner: 'team-b',
    prepare: () => createSilence(fixture.ruleB),
    graphql: (id) => gql(`mutation($id: ID!) { expireSilence(id: $id) { id } }`, { id }),
  },
  {
    name: 'expire a silence of every rule',
    owner: 'admin',
    prepare: () => createSilence(null),
    graphql: (id) => gql(`mutation($id: ID!) { expireSilence(id: $id) { id } }`, { id }),
  },

  // Tokens are ADMIN's; events any writer's.
  {
    name: 'create a token',
    owner: 'admin',
    graphql: () => gql(`mutation { createToken(input: { name: "minted", scopes: [ADMIN] }) { id } }`),
  },
  {
    name: 'revoke a token',
    owner: 'admin',
    prepare: async () => (await makeToken(`doomed-${unique()}`, { scopes: ['READ'] })).id,
    graphql: (id) => gql(`mutation($id: ID!) { revokeToken(id: $id) }`, { id }),
    cli: (id) => ['token', 'revoke', id],
  },
  {
    name: 'list tokens',
    owner: 'admin',
    writesNothing: true,
    graphql: () => gql(`{ tokens { id } }`),
  },
  {
    name: 'publish an event',
    owner: 'writer',
    graphql: () => gql(`mutation { publishEvent(input: { type: "deploy.finished", source: "matrix", data: {} }) { id } }`),
  },
];

function expected(test: Case, principal: PrincipalName): Outcome[] {
  const outcome = test.expect?.[principal] ?? EXPECTED[test.owner][principal];
  return Array.isArray(outcome) ? outcome : [outcome];
}

async function run(adapter: Adapter, test: Case, principal: PrincipalName, target: string): Promise<Outcome | string> {
  if (adapter === 'consul') return consul(principal, test.consul!(target));
  if (adapter === 'cli') return cli(principal, test.cli!(target));
  const call = test.graphql!(target);
  return adapter === 'graphql-http' ? graphqlOverHttp(principal, call) : graphqlOverWebSocket(principal, call);
}

describe.each(ADAPTERS)('access over %s', (adapter) => {
  const cases = CASES.filter((test) => test[adapter === 'consul' || adapter === 'cli' ? adapter : 'graphql']);
  it.each(cases.map((test) => [test.name, test] as const))('%s', async (_name, test) => {
    const table: string[] = [];
    const mismatches: string[] = [];
    for (const principal of PRINCIPALS) {
      const target = test.prepare ? await test.prepare() : '';
      const before = await eventsBy(principal);
      const outcome = await run(adapter, test, principal, target);
      const written = (await eventsBy(principal)) - before;
      const allowed = expected(test, principal);
      table.push(`${principal}: ${outcome}`);
      if (!allowed.includes(outcome as Outcome)) mismatches.push(`${principal}: expected ${allowed.join(' or ')}, got ${outcome}`);
      if (outcome !== 'ok' && written !== 0) mismatches.push(`${principal}: refused (${outcome}) but wrote ${written} event(s)`);
      if (outcome === 'ok' && !test.writesNothing && written === 0) mismatches.push(`${principal}: succeeded but wrote no event`);
    }
    expect(mismatches, table.join('\n')).toEqual([]);
  });
});
