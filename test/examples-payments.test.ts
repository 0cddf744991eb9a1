import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SwitchboardRegistry } from '@switchboard/sdk';
import { EventsDocument } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/wait.js';
import { trackOpen } from './support/leaks.js';
import { useRegistryNode } from './support/nodes.js';
import { unreadFrom } from './support/sockets.js';
import { scan } from '../src/build/scan/index.js';
import { generateModule } from '../src/build/generate.js';
import { validateManifest } from '../src/build/manifest.js';

/**
 * examples/payments as its README runs it: the payments service, ledger instances and the caller as processes
 * of their own (through tsx, which lowers the standard decorators), against a real Switchboard node. The steps
 * build on each other, so the processes live for the whole file and afterAll ends those still running.
 */
const fixture = useRegistryNode();
const EXAMPLE = fileURLToPath(new URL('../examples/payments/', import.meta.url));

interface ExampleProcess {
  child: ChildProcess;
  /** Every JSON line it printed on stdout. */
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  stderr(): string;
}

const started: ExampleProcess[] = [];

function runExample(file: string, env: Record<string, string>, args: string[] = []): ExampleProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `${EXAMPLE}${file}`, ...args], {
    env: { ...process.env, SWITCHBOARD_URL: fixture.node.url, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const example = { child, lines, exited, stderr: () => stderr };
  started.push(example);
  return example;
}

interface ReadyLine {
  ready: string;
  url: string;
  /** Where start() took the declaration from: the generated module, or the decorators. */
  declaredBy: 'generated' | 'decorators';
  components?: string[];
}

/** The `{ ready }` line a service prints once started; fails when the process exits first. */
function readyLine(example: ExampleProcess, timeoutMs = 20_000): Promise<ReadyLine> {
  return eventually(() => {
    if (example.child.exitCode !== null) throw new Error(`exited ${example.child.exitCode}: ${example.stderr()}`);
    return example.lines.find((line) => 'ready' in line) as ReadyLine | undefined;
  }, timeoutMs);
}

/** The caller's run: its exit code and the answers it printed. */
async function callPayments(count: number) {
  const caller = runExample('caller.ts', {}, [String(count)]);
  const code = await caller.exited;
  return { code, answers: caller.lines, stderr: caller.stderr() };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const instanceId = (name: string, port: number) => `${name}-127-0-0-1-${port}`;
const json = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;

let sdk: SwitchboardRegistry;
let ports: { payments: number; ledgerA: number; ledgerB: number };
let payments: ExampleProcess;
let ledgerA: ExampleProcess;
let ledgerB: ExampleProcess;
let release: () => void;

beforeAll(async () => {
  sdk = new SwitchboardRegistry(fixture.clients.create(fixture.node.url));
  ports = { payments: await freePort(), ledgerA: await freePort(), ledgerB: await freePort() };
  release = trackOpen('process', 'the example processes', endAll);
});

afterAll(async () => {
  await endAll();
  release();
});

async function endAll() {
  for (const { child } of started) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await Promise.all(started.map(({ exited }) => exited));
}

// Each step starts processes through tsx (seconds each on a loaded machine).
const STEP_TIMEOUT_MS = 90_000;

describe('examples/payments builds with a scan step', () => {
  const manifestPath = `${EXAMPLE}switchboard.manifest.json`;
  const committed = JSON.parse(readFileSync(manifestPath, 'utf8')) as unknown;

  it('its committed manifest is what `switchboard scan examples/payments` writes', () => {
    const { manifest, errors } = scan({ paths: [EXAMPLE], out: manifestPath });
    expect(errors).toEqual([]);
    expect(JSON.parse(JSON.stringify(manifest))).toEqual(committed);
    expect(manifest.services.map((service) => service.className)).toEqual(['Ledger', 'PaymentService']);
    expect(manifest.components.map((component) => component.id)).toEqual(['checkout@1.0.0', 'fraud-check@1.0.0', 'record-entry@1.0.0']);
  }, 60_000);

  it('its committed generated module is what `switchboard generate` writes from that manifest', () => {
    const validated = validateManifest(committed);
    if (!('manifest' in validated)) throw new Error(JSON.stringify(validated.problems));
    const out = `${EXAMPLE}switchboard.generated.ts`;
    expect(readFileSync(out, 'utf8')).toBe(generateModule(validated.manifest, { manifestPath, out }));
  });
});

describe.sequential('examples/payments', () => {
  it(
    'payments registers at once, and is ready only once a ledger instance passes',
    async () => {
      payments = runExample('payments.ts', { PORT: String(ports.payments) });
      const id = instanceId('payments', ports.payments);
      await eventually(() => sdk.getService(id), 20_000);
      // Its /healthz has been probed (every second) and fails: nothing discovers it as passing.
      const health = await eventually(async () => {
        const status = await sdk.getServiceHealth(id);
        return status.checkCount >= 2 ? status : undefined;
      });
      expect(health.status).toBe('CRITICAL');
      expect(await sdk.discoverServices('payments', { passingOnly: true })).toEqual([]);
      expect((await fetch(`http://127.0.0.1:${ports.payments}/healthz`)).status).toBe(503);
      expect(payments.lines).toEqual([]);

      ledgerA = runExample('ledger.ts', { PORT: String(ports.ledgerA) });
      expect(await readyLine(ledgerA)).toMatchObject({ ready: instanceId('ledger', ports.ledgerA), declaredBy: 'generated' });
      // Declared from the generated module, on the port PORT gave (the declared one is 8443), and the two steps
      // payments provides registered by its start(), fraud-check first: record-entry depends on it.
      expect(await readyLine(payments)).toEqual({
        ready: id,
        url: `http://127.0.0.1:${ports.payments}`,
        declaredBy: 'generated',
        components: ['fraud-check@1.0.0', 'record-entry@1.0.0'],
      });
      expect((await sdk.getService(id))?.port).toBe(ports.payments);
      expect(await sdk.getComponent('record-entry@1.0.0')).toMatchObject({ type: 'STEP', provider: 'payments', dependencies: ['fraud-check@^1'] });
      const { events } = await fixture.clients.create(fixture.node.url).request(EventsDocument, { types: ['component.registered'] });
      expect(events.map((event) => (event.data as { id: string }).id)).toEqual(['fraud-check@1.0.0', 'record-entry@1.0.0']);
      await eventually(async () => ((await sdk.discoverServices('payments', { passingOnly: true })).some((each) => each.id === id) ? true : undefined));
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'spreads payments over the ledger instances',
    async () => {
      ledgerB = runExample('ledger.ts', { PORT: String(ports.ledgerB) });
      await readyLine(ledgerB);
      // Both pass in the registry; payments' discovery cache hears of the second by push, within milliseconds
      // (the caller takes longer than that to start).
      const ledgers = [instanceId('ledger', ports.ledgerA), instanceId('ledger', ports.ledgerB)];
      await eventually(async () => {
        const passing = (await sdk.discoverServices('ledger', { passingOnly: true })).map((each) => each.id);
        return ledgers.every((id) => passing.includes(id)) ? true : undefined;
      });

      const { code, answers, stderr } = await callPayments(20);
      expect(code, stderr).toBe(0);
      expect(answers).toHaveLength(20);
      const perInstance = countBy(answers.map((answer) => (answer as { entry: { instance: string } }).entry.instance));
      // Round robin: each instance in turn.
      expect(perInstance).toEqual({ [ledgers[0]!]: 10, [ledgers[1]!]: 10 });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'ejects a killed ledger instance and moves its traffic to the other',
    async () => {
      const killed = instanceId('ledger', ports.ledgerA);
      const survivor = instanceId('ledger', ports.ledgerB);
      ledgerA.child.kill('SIGKILL');
      await ledgerA.exited;

      const { code, answers, stderr } = await callPayments(20);
      expect(code, stderr).toBe(0);
      expect(countBy(answers.map((answer) => (answer as { entry: { instance: string } }).entry.instance))).toEqual({ [survivor]: 20 });
      // Payments took the killed instance out (its breaker opened or it was ejected), while the registry still
      // lists it: its lease has not lapsed yet, so the move was the client's own.
      const view = await json<{ next: string; unavailable: string[] }>(`http://127.0.0.1:${ports.payments}/ledger`);
      expect(view.unavailable).toContain(killed);
      expect(view.next).toBe(`http://127.0.0.1:${ports.ledgerB}`);
      expect((await sdk.discoverServices('ledger', { passingOnly: true })).map((each) => each.id)).toContain(killed);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'on SIGTERM deregisters payments before it exits, lets the call in flight finish, and exits 0',
    async () => {
      const id = instanceId('payments', ports.payments);
      // The surviving ledger holds the next call: stopped, it accepts the connection but does not answer.
      ledgerB.child.kill('SIGSTOP');
      try {
        const inFlight = fetch(`http://127.0.0.1:${ports.payments}/payments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ amount: 42, currency: 'EUR' }),
        });
        // In flight: payments has passed it on, and the call waits unread at the stopped ledger.
        await eventually(() => (unreadFrom(payments.child.pid!, ports.ledgerB) > 0 ? true : undefined), 20_000);

        payments.child.kill('SIGTERM');
        await eventually(async () => ((await sdk.discoverServices('payments', { passingOnly: false })).length === 0 ? true : undefined));
        expect(await sdk.getService(id)).toBeUndefined();
        expect(payments.child.exitCode).toBeNull();

        ledgerB.child.kill('SIGCONT');
        const answer = await inFlight;
        expect(answer.status).toBe(201);
        expect(await payments.exited).toBe(0);
      } finally {
        ledgerB.child.kill('SIGCONT');
      }
    },
    STEP_TIMEOUT_MS,
  );
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
