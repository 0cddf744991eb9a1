import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConsulRegistry } from '@switchboard/consul';
import Consul from 'consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackOpen } from '../../../test/support/leaks.js';
import { useRegistryNode } from '../../../test/support/nodes.js';
import { eventually, withTimeout } from '../../../test/support/wait.js';
import { consulApi, consulRegistry } from './support/helpers.js';
import { startRecordingProxy, type RecordedRequest, type RecordingProxy } from './support/recording-proxy.js';

/**
 * What ConsulRegistry sends for each operation, compared with what two clients written for real Consul send for
 * the same operation: the npm `consul` client (v2) and Debian's python3-consul. Each client talks to the node
 * through its own recording proxy; the comparison is of method, path, query parameter names and JSON body keys
 * (their casing included). Where they differ, the test names the difference, and the list is asserted whole: a
 * new difference fails it until it is judged (see docs/backends/consul.md, "Requests").
 */
const ADMIN = 'consul-shapes-test-admin-token-0123456789';
const fixture = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_ENABLE_SCRIPT_CHECKS: 'true' });

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./support/python-shapes.py', import.meta.url));
const pythonMissing = !existsSync(PYTHON)
  ? `${PYTHON} is not installed`
  : spawnSync(PYTHON, ['-c', 'import consul']).status !== 0
    ? `python3-consul is not installed for ${PYTHON} (apt-get install python3-consul)`
    : undefined;
if (pythonMissing) console.warn(`python3-consul request shapes skipped: ${pythonMissing}`);

/** Consul's own names for what these operations send (AgentServiceRegistration, CheckDefinition, Weights). */
const CONSUL_FIELDS = new Set([
  'ID',
  'Name',
  'Tags',
  'Address',
  'Port',
  'Meta',
  'Weights',
  'Weights.Passing',
  'Weights.Warning',
  'Check',
  'Checks[]',
  ...['CheckID', 'ID', 'Name', 'ServiceID', 'Status', 'HTTP', 'Method', 'Header', 'TLSSkipVerify', 'TCP', 'GRPC', 'GRPCUseTLS', 'Args', 'TTL'].flatMap(
    (field) => [`Check.${field}`, `Checks[].${field}`, field],
  ),
  ...['Interval', 'Timeout', 'DeregisterCriticalServiceAfter', 'SuccessBeforePassing', 'FailuresBeforeCritical'].flatMap((field) => [
    `Check.${field}`,
    `Checks[].${field}`,
    field,
  ]),
]);

const CONFIG_KEY = 'switchboard/config/shape/value';
const SERVICE = { id: 'shape-1', name: 'shape', address: '127.0.0.1', port: 8001, tags: ['v1'] };

interface Operation {
  name: string;
  /** The request that is the operation (a registry call may make others around it). */
  is: (request: RecordedRequest) => boolean;
  mine: (registry: ConsulRegistry, proxy: RecordingProxy) => Promise<unknown>;
  npm: (consul: Consul) => Promise<unknown>;
  /** python-shapes.py knows it (python3-consul 0.7 has no gRPC check). */
  python: boolean;
  /** A KV value the clients were given alike: its bytes must be the same. */
  sameValue?: boolean;
}

const put = (path: string) => (request: RecordedRequest) => request.method !== 'GET' && request.path === path;
const get =
  (path: string, ...params: string[]) =>
  (request: RecordedRequest) =>
    request.path === path && params.every((param) => request.query.some(([name]) => name === param));
/** Python-consul 0.7 sends some writes as GET (as Consul before 1.0 took them). */
const anyMethod = (path: string) => (request: RecordedRequest) => request.path === path;

/** The npm client takes `index` and `wait` on every read (its utils.options), though its types leave them out. */
function blocking<T extends object>(options: T): T {
  return { ...options, index: '1', wait: '1s' };
}

/** A watch's second request is its blocking one: start it, wait for that to be recorded, stop it. */
async function blockingRequestOf(proxy: RecordingProxy, path: string, start: () => Promise<() => Promise<void>>): Promise<void> {
  const stop = await start();
  try {
    await eventually(() => (proxy.requests.some(get(path, 'index')) ? true : undefined));
  } finally {
    await stop();
  }
}

const OPERATIONS: Operation[] = [
  {
    name: 'register with an HTTP check',
    is: put('/v1/agent/service/register'),
    mine: (registry) =>
      registry.registerService({
        ...SERVICE,
        healthCheck: { http: 'http://127.0.0.1:8001/health', interval: '10s', timeout: '1s', deregisterCriticalServiceAfter: '5m' },
      }),
    npm: (consul) =>
      consul.agent.service.register({
        ...SERVICE,
        check: { name: 'http', http: 'http://127.0.0.1:8001/health', interval: '10s', timeout: '1s', deregistercriticalserviceafter: '5m' },
      }),
    python: true,
  },
  {
    name: 'register with a TCP check',
    is: put('/v1/agent/service/register'),
    mine: (registry) => registry.registerService({ ...SERVICE, healthCheck: { tcp: '127.0.0.1:8001', interval: '10s', timeout: '1s' } }),
    npm: (consul) => consul.agent.service.register({ ...SERVICE, check: { name: 'tcp', tcp: '127.0.0.1:8001', interval: '10s', timeout: '1s' } }),
    python: true,
  },
  {
    name: 'register with a TTL (the lease)',
    is: put('/v1/agent/service/register'),
    mine: (registry) => registry.registerService({ ...SERVICE, ttl: '30s' }),
    npm: (consul) => consul.agent.service.register({ ...SERVICE, check: { name: 'ttl', ttl: '30s', timeout: '1s' } }),
    python: true,
  },
  {
    name: 'register with a gRPC check',
    is: put('/v1/agent/service/register'),
    mine: (registry) => registry.registerService({ ...SERVICE, healthCheck: { grpc: '127.0.0.1:8001/health', grpcUseTls: false, interval: '10s' } }),
    npm: (consul) =>
      consul.agent.service.register({ ...SERVICE, check: { name: 'grpc', grpc: '127.0.0.1:8001/health', grpcusetls: false, interval: '10s', timeout: '5s' } }),
    python: false,
  },
  {
    name: 'register with a script check',
    is: put('/v1/agent/service/register'),
    mine: (registry) => registry.registerService({ ...SERVICE, healthCheck: { script: '/bin/true', args: ['-x'], interval: '30s' } }),
    npm: (consul) => consul.agent.service.register({ ...SERVICE, check: { name: 'script', args: ['/bin/true', '-x'], interval: '30s', timeout: '5s' } }),
    python: true,
  },
  {
    name: 'register a check of an instance',
    is: put('/v1/agent/check/register'),
    mine: (registry) => registry.registerHealthCheck('shape-1', { id: 'extra-1', name: 'extra', http: 'http://127.0.0.1:8001/extra', interval: '15s' }),
    // `id` becomes ID in its code (createCheck); its types know only `checkid` (which it sends as CheckID).
    npm: (consul) =>
      consul.agent.check.register({
        id: 'extra-1',
        name: 'extra',
        serviceid: 'shape-1',
        http: 'http://127.0.0.1:8001/extra',
        interval: '15s',
      } as unknown as Parameters<Consul['agent']['check']['register']>[0]),
    python: true,
  },
  {
    name: 'pass a TTL check',
    is: anyMethod('/v1/agent/check/pass/service:shape-1'),
    mine: async (registry) => {
      await registry.registerService({ ...SERVICE, ttl: '30s' });
      await registry.renewService('shape-1');
    },
    npm: (consul) => consul.agent.check.pass('service:shape-1'),
    python: true,
  },
  {
    name: 'deregister',
    is: anyMethod('/v1/agent/service/deregister/shape-1'),
    mine: async (registry) => {
      await registry.registerService(SERVICE);
      await registry.unregisterService('shape-1');
    },
    npm: (consul) => consul.agent.service.deregister('shape-1'),
    python: true,
  },
  {
    name: 'read passing instances with a tag',
    is: get('/v1/health/service/shape'),
    mine: (registry) => registry.discoverServices('shape', { passingOnly: true, tags: ['v1'] }),
    npm: (consul) => consul.health.service({ service: 'shape', passing: true, tag: 'v1' }),
    python: true,
  },
  {
    name: 'block on instances',
    is: get('/v1/health/service/shape', 'index'),
    mine: (registry, proxy) => blockingRequestOf(proxy, '/v1/health/service/shape', () => registry.watchService('shape', () => {})),
    npm: (consul) => consul.health.service(blocking({ service: 'shape' })),
    python: true,
  },
  {
    name: 'put a KV value',
    is: put(`/v1/kv/${CONFIG_KEY}`),
    mine: (registry) => registry.setConfig('shape.value', { a: 1 }),
    npm: (consul) => consul.kv.set(CONFIG_KEY, '{"a":1}'),
    python: true,
    sameValue: true,
  },
  {
    name: 'put a KV value if absent (cas=0)',
    is: put('/v1/kv/switchboard/components/shape-step_401_2E0_2E0'),
    mine: (registry) => registry.registerComponent({ type: 'STEP', name: 'shape-step', version: '1.0.0' }),
    npm: (consul) => consul.kv.set({ key: 'switchboard/components/shape-step_401_2E0_2E0', value: '{}', cas: 0 }),
    python: true,
  },
  {
    name: 'get a KV value',
    is: get(`/v1/kv/${CONFIG_KEY}`),
    mine: (registry) => registry.getConfig('shape.value'),
    npm: (consul) => consul.kv.get(CONFIG_KEY),
    python: true,
  },
  {
    name: 'block on a KV value',
    is: get(`/v1/kv/${CONFIG_KEY}`, 'index'),
    mine: (registry, proxy) => blockingRequestOf(proxy, `/v1/kv/${CONFIG_KEY}`, () => registry.watchConfig('shape.value', () => {})),
    npm: (consul) => consul.kv.get(blocking({ key: CONFIG_KEY })),
    python: true,
  },
  {
    name: 'list KV values under a prefix',
    is: get('/v1/kv/switchboard/components/', 'recurse'),
    mine: (registry) => registry.listComponents(),
    npm: (consul) => consul.kv.get({ key: 'switchboard/components/', recurse: true }),
    python: true,
  },
  {
    name: 'block on the catalog',
    is: get('/v1/catalog/services', 'index'),
    mine: (registry, proxy) => blockingRequestOf(proxy, '/v1/catalog/services', () => registry.watchCatalog(() => {})),
    npm: (consul) => consul.catalog.service.list(blocking({})),
    python: true,
  },
  {
    name: 'ask for the leader',
    is: get('/v1/status/leader'),
    mine: (registry) => registry.health(),
    npm: (consul) => consul.status.leader(),
    python: true,
  },
];

const PYTHON_OPERATION: Record<string, string> = {
  'register with an HTTP check': 'register-http',
  'register with a TCP check': 'register-tcp',
  'register with a TTL (the lease)': 'register-ttl',
  'register with a script check': 'register-script',
  'register a check of an instance': 'check-register',
  'pass a TTL check': 'check-pass',
  deregister: 'deregister',
  'read passing instances with a tag': 'health-service',
  'block on instances': 'health-service-blocking',
  'put a KV value': 'kv-put',
  'put a KV value if absent (cas=0)': 'kv-put-cas',
  'get a KV value': 'kv-get',
  'block on a KV value': 'kv-get-blocking',
  'list KV values under a prefix': 'kv-list',
  'block on the catalog': 'catalog-services-blocking',
  'ask for the leader': 'status-leader',
};

interface Shape {
  method: string;
  path: string;
  /** Parameter names, sorted; the token and datacenter aside (compared as "how the token is sent"). */
  query: string[];
  /** JSON body keys as paths ("Check.HTTP", "Checks[].TTL"); Meta's and Header's own keys are data, not shape. */
  keys: string[] | undefined;
  body: string;
  token: 'header' | 'query' | 'none';
}

function shapeOf(request: RecordedRequest): Shape {
  let keys: string[] | undefined;
  // A KV body is the value itself, whatever it spells.
  if (!request.path.startsWith('/v1/kv/'))
    try {
      const json: unknown = JSON.parse(request.body);
      if (typeof json === 'object' && json !== null && !Array.isArray(json)) keys = keyPaths(json as Record<string, unknown>).sort();
    } catch {
      keys = undefined;
    }
  const names = request.query.map(([name]) => name);
  return {
    method: request.method,
    path: request.path,
    query: [...new Set(names.filter((name) => name !== 'token' && name !== 'dc'))].sort(),
    keys,
    body: request.body,
    token: request.headers['x-consul-token'] ? 'header' : names.includes('token') ? 'query' : 'none',
  };
}

function keyPaths(object: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(object).flatMap(([key, value]) => {
    const path = `${prefix}${key}`;
    if (/^(meta|header)$/i.test(key)) return [path];
    if (Array.isArray(value)) {
      const objects = value.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null);
      return objects.length === 0 ? [path] : [`${path}[]`, ...objects.flatMap((item) => keyPaths(item, `${path}[].`))];
    }
    if (typeof value === 'object' && value !== null) return [path, ...keyPaths(value as Record<string, unknown>, `${path}.`)];
    return [path];
  });
}

/**
 * What `other` sends that ours does not, or sends differently, for one operation; `caseless` for a client that
 * writes keys in lower case. How each sends its token, and keys that differ in case only, are summed up once.
 */
function differences(operation: Operation, client: string, ours: Shape, other: Shape, caseless: boolean, summary: Summary): string[] {
  const found: string[] = [];
  const name = operation.name;
  if (other.method !== ours.method) found.push(`${name}: ${client} sends ${other.method}, ours ${ours.method}`);
  if (other.path !== ours.path) found.push(`${name}: ${client} asks ${other.path}, ours ${ours.path}`);
  if (other.query.join() !== ours.query.join()) found.push(`${name}: ${client} query [${other.query.join(' ')}], ours [${ours.query.join(' ')}]`);
  if (other.token !== ours.token) summary.add(`${client} sends the token ${other.token === 'query' ? 'as ?token=' : 'not at all'}`, name);
  const fold = (key: string) => (caseless ? key.toLowerCase() : key);
  const ourKeys = new Set((ours.keys ?? []).map(fold));
  const exact = new Set(ours.keys ?? []);
  const missing = (other.keys ?? []).filter((key) => !ourKeys.has(fold(key)));
  if (missing.length > 0) found.push(`${name}: ${client} sends ${missing.join(', ')}; ours does not`);
  if ((other.keys ?? []).some((key) => !exact.has(key) && ourKeys.has(fold(key)))) summary.add(`${client} writes body keys in other casing`, name);
  if (operation.sameValue && other.body !== ours.body) found.push(`${name}: ${client} writes ${JSON.stringify(other.body)}, ours ${JSON.stringify(ours.body)}`);
  return found;
}

/** Differences that hold across operations, each with the operations it was seen in. */
class Summary {
  private readonly seen = new Map<string, string[]>();
  add(difference: string, operation: string): void {
    this.seen.set(difference, [...(this.seen.get(difference) ?? []), operation]);
  }
  lines(): string[] {
    return [...this.seen].map(
      ([difference, operations]) => `${difference} (${operations.length > 5 ? `${operations.length} operations` : operations.join('; ')})`,
    );
  }
}

async function runPython(port: number, operation: string): Promise<void> {
  const child = spawn(PYTHON, [SCRIPT, String(port), ADMIN, operation], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const release = trackOpen('process', `python3-consul ${operation} (pid ${child.pid})`, async () => {
    child.kill('SIGKILL');
    await exited;
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const code = await withTimeout(exited, 20_000, `python3-consul ${operation} did not finish`);
    if (code !== 0) throw new Error(`python3-consul ${operation} exited with ${code}: ${stderr}`);
  } finally {
    release();
  }
}

describe('request shapes: ConsulRegistry beside the npm consul client and python3-consul', () => {
  const proxies: Record<'ours' | 'npm' | 'python', RecordingProxy> = {} as never;
  let registry: ConsulRegistry;
  let consul: Consul;
  beforeAll(async () => {
    for (const client of ['ours', 'npm', 'python'] as const) proxies[client] = await startRecordingProxy(fixture.node.port!);
    registry = consulRegistry({ address: proxies.ours.address, token: ADMIN, onWarning: () => {} });
    consul = new Consul({ host: '127.0.0.1', port: proxies.npm.port, defaults: { token: ADMIN } });
  });
  afterAll(async () => {
    consul?.destroy();
    await registry?.close();
    await Promise.all(Object.values(proxies).map((proxy) => proxy.close()));
  });

  it('sends what those clients send, and the differences are the known ones', async () => {
    const api = consulApi(`127.0.0.1:${fixture.node.port}`, ADMIN);
    const found: string[] = [];
    const summary = new Summary();
    for (const operation of OPERATIONS) {
      const shapes: Partial<Record<'ours' | 'npm' | 'python', Shape>> = {};
      const run = async (client: 'ours' | 'npm' | 'python', perform: () => Promise<unknown>) => {
        // Every client starts from the same state: the instance registered afresh.
        await api.put('/v1/agent/service/register', { ID: 'shape-1', Name: 'shape', Address: '127.0.0.1', Port: 8001, Tags: ['v1'] });
        const proxy = proxies[client];
        const from = proxy.requests.length;
        await perform().catch(() => {}); // the request is the subject, not the answer
        const request = proxy.requests.slice(from).find(operation.is);
        expect(request, `${client} sent no request for "${operation.name}"`).toBeDefined();
        shapes[client] = shapeOf(request!);
      };
      await run('ours', () => operation.mine(registry, proxies.ours));
      await run('npm', () => operation.npm(consul));
      if (operation.python && !pythonMissing) await run('python', () => runPython(proxies.python.port, PYTHON_OPERATION[operation.name]!));

      const ours = shapes.ours!;
      // Ours are Consul's own field names, in its casing.
      expect(
        (ours.keys ?? []).filter((key) => !CONSUL_FIELDS.has(key)),
        operation.name,
      ).toEqual([]);
      found.push(...differences(operation, 'npm', ours, shapes.npm!, false, summary));
      if (shapes.python) found.push(...differences(operation, 'python3-consul', ours, shapes.python, true, summary));
    }
    found.push(...summary.lines());
    const expected = [...KNOWN_NPM_DIFFERENCES, ...(pythonMissing ? [] : KNOWN_PYTHON_DIFFERENCES)].sort();
    expect(found.sort()).toEqual(expected);
    // Three clients per operation, each python3-consul call a process of its own: slow on two busy cores.
  }, 120_000);
});

/** Judged, each one (docs/backends/consul.md, "Requests", says the same). */
const KNOWN_NPM_DIFFERENCES: string[] = [];
const KNOWN_PYTHON_DIFFERENCES: string[] = [
  // Consul before 1.0 took these writes as GET; since 1.0 they are PUT only (a GET is 405), as ours and npm send them.
  'deregister: python3-consul sends GET, ours PUT',
  'pass a TTL check: python3-consul sends GET, ours PUT',
  // Consul reads ?token= too (deprecated: it lands in access logs); the X-Consul-Token header, ours and npm's, does not.
  'python3-consul sends the token as ?token= (13 operations)',
  // python3-consul 0.7 forgets the token on these calls: it sends them anonymously (refused where ACLs are on).
  'python3-consul sends the token not at all (pass a TTL check; deregister; ask for the leader)',
  // Consul decodes bodies into Go structs, whose JSON keys match whatever their case; ours writes Consul's own casing, as npm does.
  'python3-consul writes body keys in other casing (register with an HTTP check; register with a TCP check; register with a TTL (the lease); register with a script check; register a check of an instance)',
  // `Script` is the pre-1.0 shell command line, gone since Consul 1.1; ours sends `Args`, as npm does.
  'register with a script check: python3-consul sends check.script; ours does not',
];
