import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { loadSettings } from '../../src/settings.js';
import { createLogger } from '../../src/logger.js';
import { startNode, type SwitchboardNode } from '../../src/server/node.js';
import { clientFactory, type SwitchboardClient } from './client.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { tracked, trackOpen } from './leaks.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A serving node: its URL is known. */
export type TestNode = SwitchboardNode & { url: string };

/**
 * Test nodes do not register themselves in their catalog (SWITCHBOARD_SELF_REGISTER), so tests count
 * only the services they register; a test about self-registration turns it on in `env`.
 */
const NO_SELF_REGISTRATION = { SWITCHBOARD_SELF_REGISTER: 'false' };
/**
 * Test nodes' defaults, which a test's `env` overrides: no self-registration (above), and a pool of
 * 6 connections rather than 10, since several files run at once against one PostgreSQL whose
 * max_connections may be the default 100.
 */
const TEST_NODE_DEFAULTS = { ...NO_SELF_REGISTRATION, SWITCHBOARD_DB_POOL_SIZE: '6' };

/** A registry node in this process, on an ephemeral port, against `databaseUrl`. */
export async function startTestNode(databaseUrl: string, env: Record<string, string> = {}): Promise<TestNode> {
  const config = loadSettings({ DATABASE_URL: databaseUrl, PORT: '0', ...TEST_NODE_DEFAULTS, ...env });
  const node = await startNode(config, createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'));
  if (node.url === undefined) throw new Error('a serving node has a URL');
  return tracked('node', `in-process node at ${node.url}`, node as TestNode, 'stop');
}

/** A `switchboard worker` in this process: the health-check pool and the sweeps, no API. */
export async function startTestWorker(databaseUrl: string, env: Record<string, string> = {}): Promise<SwitchboardNode> {
  const config = loadSettings({ DATABASE_URL: databaseUrl, PORT: '0', ...TEST_NODE_DEFAULTS, ...env });
  const node = await startNode(config, createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'), 'worker');
  return tracked('worker', `in-process worker ${node.worker!.id}`, node, 'stop');
}

export interface NodeProcess {
  url: string;
  child: ChildProcess;
  /** Every log line the process printed, parsed. */
  logs: Record<string, unknown>[];
  /** Every line the process printed on stdout, as printed (each should be a JSON log line). */
  stdoutLines: string[];
  /** What the process wrote to stderr so far (nothing, normally: logs are JSON on stdout). */
  stderr(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * A real `switchboard serve` process (the CLI, through tsx), for what only separate
 * processes can show: NOTIFY fan-out between nodes, signals, restarts.
 */
export async function spawnNode(env: Record<string, string | undefined>): Promise<NodeProcess> {
  const merged: Record<string, string | undefined> = { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...TEST_NODE_DEFAULTS, ...env };
  // `undefined` removes a variable (say, DATABASE_URL for an embedded node).
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stdoutLines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const release = trackOpen('process', `switchboard serve (pid ${child.pid})`, async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      release();
      resolve(code);
    }),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start within 60s: ${stderr}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdoutLines.push(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (typeof entry['url'] === 'string') {
        clearTimeout(timer);
        resolve(entry['url']);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before listening: ${stderr}`));
    });
  });

  return {
    url,
    child,
    logs,
    stdoutLines,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface RegistryFixture {
  database: TestDatabase;
  node: TestNode;
  /** A client of `node` without a token. */
  client: SwitchboardClient;
  clients: ReturnType<typeof clientFactory>;
}

/**
 * The usual test file set-up: its own database, one in-process node on it, a
 * client; all torn down after the file. Fields are filled in by `beforeAll`.
 */
export function useRegistryNode(env: Record<string, string> = {}): RegistryFixture {
  const fixture = { clients: clientFactory() } as RegistryFixture;
  beforeAll(async () => {
    fixture.database = await createTestDatabase();
    fixture.node = await startTestNode(fixture.database.url, env);
    fixture.client = fixture.clients.create(fixture.node.url);
  });
  afterAll(async () => {
    await fixture.clients.closeAll();
    await fixture.node?.stop();
    await fixture.database?.drop();
  });
  return fixture;
}

export interface ServerPairFixture {
  database: TestDatabase;
  a: NodeProcess;
  b: NodeProcess;
  /** [a, b]. */
  readonly nodes: NodeProcess[];
  /** Clients a test makes of either server; closed after the file. */
  clients: ReturnType<typeof clientFactory>;
}

/**
 * Two `switchboard serve` processes sharing a database of their own, as in production, each
 * started with `env` (and that database's DATABASE_URL); all torn down after the file. Fields
 * are filled in by `beforeAll`: hooks registered after this call may use them.
 */
export function useServerPair(env: Record<string, string> = {}): ServerPairFixture {
  const fixture = {
    clients: clientFactory(),
    get nodes() {
      return [fixture.a, fixture.b];
    },
  } as ServerPairFixture;
  beforeAll(async () => {
    fixture.database = await createTestDatabase();
    // These tests load two servers with hundreds of writers on a shared machine: a write that is
    // slow but correct must not be cut off by the request deadline (database-faults tests that).
    const serverEnv = { SWITCHBOARD_REQUEST_TIMEOUT: '60s', ...env, DATABASE_URL: fixture.database.url };
    [fixture.a, fixture.b] = await Promise.all([spawnNode(serverEnv), spawnNode(serverEnv)]);
  });
  afterAll(async () => {
    await fixture.clients.closeAll();
    await Promise.all([fixture.a?.stop(), fixture.b?.stop()]);
    await fixture.database?.drop();
  });
  return fixture;
}
