import { createServer, type Server } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComponentsDocument, ConfigDocument, DiscoverServicesDocument, LatestEventIdDocument, type SwitchboardClient } from '@switchboard/client';
import { runCli, type CliResult } from './support/cli.js';
import { clientFactory } from './support/client.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { trackOpen } from './support/leaks.js';
import { startTestNode, type TestNode } from './support/nodes.js';
import { eventually } from './support/wait.js';

// `switchboard` against what an operator's day can hold: input that is too big, too deep, not UTF-8 or not a
// URL (exit 2, nothing sent or nothing written), a registry whose database is gone (exit 5, UNAVAILABLE with
// the server's `outcome`, and `apply` claiming nothing it does not know), and a registry that is not there.
// The node talks to its own test database through a fault proxy (test/support/fault-proxy.ts) that the
// outage tests cut.

const ADMIN = 'cli-hostile-admin-token-0123456789';
const REQUEST_TIMEOUT = '1500ms';

let database: TestDatabase;
let proxy: FaultProxy;
let node: TestNode;
let admin: SwitchboardClient;
let scratch: string;
const clients = clientFactory();

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startFaultProxy(database.url);
  node = await startTestNode(proxy.url, { SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_REQUEST_TIMEOUT: REQUEST_TIMEOUT, SWITCHBOARD_HEALTH_WORKER: 'false' });
  admin = clients.create(node.url, ADMIN);
  scratch = await mkdtemp(path.join(tmpdir(), 'switchboard-cli-hostile-'));
});

afterAll(async () => {
  await clients.closeAll();
  await proxy?.restore();
  await node?.stop();
  await proxy?.stop();
  await database?.drop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** `switchboard ...args` against the test node as the admin. */
const sb = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { env: { SWITCHBOARD_URL: node.url, SWITCHBOARD_TOKEN: ADMIN, ...env }, timeoutMs: 60_000 });

async function file(name: string, contents: string | Buffer): Promise<string> {
  const where = path.join(scratch, name);
  await writeFile(where, contents);
  return where;
}

/** The process failed with `exit` and printed `code` as its --json error, with one `error:` line first on stderr and no stack trace. */
function failed(result: CliResult, exit: number, code: string): { code: string; message: string; outcome?: string } {
  const { error } = result.json<{ error: { code: string; message: string; outcome?: string } }>();
  expect({ exit: result.code, code: error.code }, `${result.stdout}\n${result.stderr}`).toEqual({ exit, code });
  expect(result.stderr).toMatch(/^error: /);
  expect(result.stderr).not.toMatch(/\n\s+at |TypeError|RangeError|SyntaxError: /);
  return error;
}

/** JSON nested `depth` levels: {"a":{"a":…}}. */
const nested = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;

/** A TCP server that counts the connections made to it and never answers: proof that nothing was sent. */
async function silentServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const release = trackOpen('server', 'silent TCP server', close);
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      release();
      await close();
    },
  };
}

async function registeredInstanceIds(): Promise<string[]> {
  const found = await Promise.all(['big', 'latin', 'bom', 'deep'].map((name) => admin.request(DiscoverServicesDocument, { name })));
  return found.flatMap(({ discoverServices }) => discoverServices.map((instance) => instance.id));
}

async function componentIds(prefix: string): Promise<string[]> {
  const { components } = await admin.request(ComponentsDocument, {});
  return components.map((component) => component.id).filter((id) => id.startsWith(prefix));
}

describe('hostile input: exit 2, nothing written', () => {
  it('refuses register files that are too big, not UTF-8, start with a BOM, or nest 10,000 deep', async () => {
    const big = await file('big.json', JSON.stringify({ name: 'big', port: 80, metadata: { blob: 'x'.repeat(5 * 1024 * 1024) } }));
    // "café" in Latin-1: é is the lone byte 0xE9, which is not UTF-8.
    const latin = await file(
      'latin.json',
      Buffer.concat([Buffer.from('{"name":"latin","port":80,"metadata":{"who":"caf'), Buffer.from([0xe9]), Buffer.from('"}}')]),
    );
    const bom = await file('bom.json', `\uFEFF${JSON.stringify({ name: 'bom', port: 80 })}`);
    const deep = await file('deep.json', `{"name":"deep","port":80,"metadata":${nested(10_000, '"x"')}}`);
    const results = await Promise.all([big, latin, bom, deep].map((definition) => sb(['register', definition, '--json'])));
    const [tooBig, notUtf8, withBom, tooDeep] = results.map((result) => failed(result, 2, 'USAGE'));
    expect(tooBig!.message).toMatch(/big\.json is \d+(\.\d+)? MB; a definition may be at most 1 MB/);
    expect(notUtf8!.message).toMatch(/latin\.json is not UTF-8 \(byte 0xe9 at offset 48\)/);
    expect(withBom!.message).toMatch(/bom\.json starts with a byte order mark/);
    expect(tooDeep!.message).toMatch(/deep\.json nests deeper than 64 levels/);
    expect(await registeredInstanceIds()).toEqual([]);
  });

  it('refuses manifests that nest 10,000 deep or hold 50 MB, before reading the registry', async () => {
    const deep = await file(
      'deep.manifest.json',
      `{"manifestVersion":1,"components":[{"id":"deep.x","type":"STEP","name":"x","version":"1.0.0","metadata":${nested(10_000)}}],"services":[]}`,
    );
    const huge = await file('huge.manifest.json', JSON.stringify({ manifestVersion: 1, components: [], services: [], padding: 'x'.repeat(50 * 1024 * 1024) }));
    const [tooDeep, tooBig] = await Promise.all([sb(['apply', deep, '--yes', '--json']), sb(['plan', huge, '--json'])]);
    expect(failed(tooDeep, 2, 'USAGE').message).toMatch(/deep\.manifest\.json nests deeper than 64 levels/);
    expect(failed(tooBig, 2, 'USAGE').message).toMatch(/huge\.manifest\.json is 50(\.\d+)? MB; a manifest may be at most 16 MB/);
    expect(await componentIds('deep.')).toEqual([]);
  });

  it('refuses a config value that looks like JSON but is not, a --server that is not http(s), and a token with control characters', async () => {
    const before = (await admin.request(LatestEventIdDocument, {})).latestEventId;
    const listener = await silentServer();
    const [brokenJson, fileScheme, jsScheme, newline, control] = await Promise.all([
      sb(['config', 'set', 'hostile.limits', '{"daily": 5000', '--json']),
      sb(['services', '--server', 'file:///etc/passwd', '--json']),
      sb(['config', 'set', 'hostile.x', '1', '--server', 'javascript:alert(1)', '--json']),
      sb(['config', 'set', 'hostile.y', '1', '--server', listener.url, '--token', `${ADMIN}\r\nX-Injected: yes`, '--json']),
      sb(['services', '--json'], { SWITCHBOARD_URL: listener.url, SWITCHBOARD_TOKEN: `${ADMIN}\u0007` }),
    ]).finally(listener.close);
    expect(failed(brokenJson, 2, 'USAGE').message).toMatch(/is not valid JSON.*--string/s);
    expect(failed(fileScheme, 2, 'USAGE').message).toContain('--server must be an http:// or https:// URL, not file:');
    expect(failed(jsScheme, 2, 'USAGE').message).toContain('--server must be an http:// or https:// URL, not javascript:');
    expect(failed(newline, 2, 'USAGE').message).toMatch(/the token has a control character .*nothing was sent/);
    expect(failed(control, 2, 'USAGE').message).toMatch(/the token has a control character/);
    // Neither token was sent anywhere (no header split, no request), and no value was written.
    expect(listener.connections()).toBe(0);
    for (const key of ['hostile.limits', 'hostile.x', 'hostile.y']) expect(await admin.request(ConfigDocument, { key })).toEqual({ config: null });
    expect((await admin.request(LatestEventIdDocument, {})).latestEventId).toBe(before);
  });

  it('refuses an events cursor that is not an event id, in tail and list', async () => {
    const [negative, word, listed] = await Promise.all([
      sb(['events', 'tail', '--after', '-1', '--json']),
      sb(['events', 'tail', '--after', 'abc']),
      sb(['events', 'list', '--after', '1e3', '--json']),
    ]);
    expect(negative.stderr).toMatch(/option '--after <id>' argument '-1' is invalid\. expected an event id \(a whole number, 0 or more\)/);
    expect([negative.code, word.code, listed.code]).toEqual([2, 2, 2]);
    expect(word.stderr).toMatch(/argument 'abc' is invalid/);
    expect(listed.stderr).toMatch(/argument '1e3' is invalid/);
  });
});

describe('the registry or its database away: exit 5', () => {
  it('a server that is not listening: services and apply exit 5 with a message naming the URL', async () => {
    const gone = 'http://127.0.0.1:9';
    const [services, apply] = await Promise.all([
      runCli(['services', '--server', gone, '--json']),
      runCli(['apply', await manifest('gone', ['gone.a']), '--yes', '--server', gone, '--json']),
    ]);
    for (const result of [services, apply]) {
      expect(failed(result, 5, 'UNAVAILABLE').message).toContain(`The registry at ${gone}/graphql could not be reached`);
      expect(result.stderr).toContain(`${gone}/graphql`);
    }
  });

  it('config set and apply say UNAVAILABLE with the outcome the server gave, and write nothing; services answers from the catalog', async () => {
    const file = await manifest('outage', ['outage.a', 'outage.b']);
    await proxy.cut();
    let results: CliResult[];
    try {
      results = await Promise.all([sb(['config', 'set', 'outage.key', '5', '--json']), sb(['apply', file, '--yes', '--json']), sb(['services', '--json'])]);
    } finally {
      await proxy.restore();
    }
    const [set, apply, services] = results;
    expect(failed(set!, 5, 'UNAVAILABLE')).toMatchObject({ outcome: 'not_applied', message: expect.stringMatching(/database is unavailable/) });
    expect(set!.stderr).toMatch(/^error: The database is unavailable.* \(nothing was written: running the command again is safe\)$/m);
    // apply stops at its first read of the registry, before any write.
    expect(failed(apply!, 5, 'UNAVAILABLE').message).toMatch(/database|unreachable/i);
    // Discovery never waits on PostgreSQL (src/registry/catalog): the node's in-memory catalog answers.
    expect({ exit: services!.code, services: services!.json() }, services!.stderr).toEqual({ exit: 0, services: [] });

    await eventually(async () => ((await admin.request(ComponentsDocument, {}).catch(() => undefined)) ? true : undefined));
    expect(await admin.request(ConfigDocument, { key: 'outage.key' })).toEqual({ config: null });
    expect(await componentIds('outage.')).toEqual([]);
  });

  it('apply whose commit goes unanswered reports that batch as unknown, not as applied or not applied; plan then tells', async () => {
    const file = await manifest('limbo', ['limbo.a', 'limbo.b', 'limbo.c']);
    // The first registration's COMMIT reaches PostgreSQL; its answer never comes back.
    const swallowed = proxy.swallowCommitAfter(/insert into "components"/i);
    const result = await sb(['apply', file, '--yes', '--json']);
    await swallowed;
    const report = result.json<{ applied: unknown[]; notApplied: unknown[]; unknown: { id: string }[]; refusal: { code: string; outcome?: string } }>();
    expect({ exit: result.code, refusal: report.refusal }, result.stderr).toMatchObject({ exit: 5, refusal: { code: 'UNAVAILABLE', outcome: 'unknown' } });
    expect({ applied: report.applied, notApplied: report.notApplied, unknown: report.unknown.map((step) => step.id) }).toEqual({
      applied: [],
      notApplied: [],
      unknown: ['limbo.a', 'limbo.b', 'limbo.c'],
    });
    expect(result.stderr).toMatch(/^error: apply stopped: .*may have been applied/m);
    // It was written after all: the next plan adds only the two that were not.
    const plan = await sb(['plan', file, '--json']);
    const planned = plan.json<{ components: { action: string; id: string }[] }>().components;
    expect(planned.map((component) => `${component.action} ${component.id}`)).toEqual(['add limbo.b', 'add limbo.c']);
  });
});

let manifests = 0;
/** A manifest of STEP components `ids`, for `project`. */
async function manifest(project: string, ids: string[]): Promise<string> {
  manifests += 1;
  const components = ids.map((id) => ({ id, type: 'STEP', name: id.replace(/\./g, '-'), version: '1.0.0' }));
  return file(`manifest-${manifests}.json`, JSON.stringify({ manifestVersion: 1, project, components, services: [] }));
}
