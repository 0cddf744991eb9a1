import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { UnregisterServiceDocument } from '@switchboard/client';
import type { ServiceDefinition } from '@switchboard/sdk';
import { tsImport } from 'tsx/esm/api';
import { describe, expect, it } from 'vitest';
import { eventually, sleep } from '../../../test/support/wait.js';
import { createTestDatabase } from '../../../test/support/database.js';
import { trackOpen } from '../../../test/support/leaks.js';
import { spawnNode, useServerPair, type NodeProcess } from '../../../test/support/nodes.js';
import type * as Kept from './fixtures/kept.js';

/**
 * A started service keeps its registration: when the registry loses the instance (deregistered by someone
 * else, rows deleted, a lease that lapsed while the registry was down, a registry restarted on a reset
 * database) it registers the same definition again under the same id, once; and stopping is final.
 * The services run as processes of their own (test/fixtures/run-kept.ts), against real servers.
 */
const GRACE_MS = 1_500;
const SWEEP_MS = 200;
const servers = useServerPair({ SWITCHBOARD_EPHEMERAL_GRACE: `${GRACE_MS}ms`, SWITCHBOARD_EXPIRY_SWEEP: `${SWEEP_MS}ms` });
const RUN_KEPT = fileURLToPath(new URL('./fixtures/run-kept.ts', import.meta.url));

interface ServiceProcess {
  id: string;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** run-kept.ts as a process; resolves once it printed that it is ready. */
async function runService(kind: 'inventory' | 'leased' | 'session', urls: string[], address: string): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', RUN_KEPT], {
    env: { ...process.env, SWITCHBOARD_URL: urls.join(','), SERVICE: kind, ADDRESS: address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const release = trackOpen('process', `run-kept ${kind} (pid ${child.pid})`, async () => {
    child.kill('SIGKILL');
    await exited;
  });
  void exited.then(release);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const id = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve((JSON.parse(line) as { ready: string }).ready));
    void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  return {
    id,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

type Row = {
  id: string;
  registered_at: string;
  session_id: string | null;
  last_heartbeat_at: string | null;
  /** When the lease runs out; `expires_at - ttl_ms` is its last renewal (or the registration). */
  expires_at: string | null;
  ttl_ms: number | null;
};

/** Every stored instance of the service at `address` (a duplicate would show here; each test uses an address of its own). */
async function stored(name: string, address: string): Promise<Row[]> {
  return servers.database.sql<Row[]>`
    select id, registered_at, session_id, last_heartbeat_at, expires_at, ttl_ms from services where name = ${name} and address = ${address} order by id`;
}

const time = (row: Row | undefined) => Date.parse(row!.registered_at);

/** When the row's lease was last renewed (or written by its registration), in ms. */
const renewedAt = (row: Row) => Date.parse(row.expires_at!) - row.ttl_ms!;

/**
 * The instances at `address` once one has been renewed after `lapseAt` (ms, database clock): it has then outlived a
 * lease that ran out at `lapseAt`, renewed all along (a lapsed one is swept within SWEEP_MS). Time is the subject,
 * but what is waited for is the renewal that proves it passed, not a fixed sleep.
 */
async function renewedAfter(name: string, address: string, lapseAt: number): Promise<Row[]> {
  return eventually(async () => {
    const rows = await stored(name, address);
    return rows.some((row) => renewedAt(row) > lapseAt) ? rows : undefined;
  }, 30_000);
}

async function serviceEvents(id: string): Promise<{ type: string; reason: string | null }[]> {
  return servers.database.sql<{ type: string; reason: string | null }[]>`
    select type, data->>'reason' as reason from events where data->>'id' = ${id} and type like 'service.%registered' order by id`;
}

/** A server process on the pair's database (or `databaseUrl`), on `port` (0: any). */
function spawnServer(port: number, databaseUrl = servers.database.url): Promise<NodeProcess> {
  return spawnNode({
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    SWITCHBOARD_EPHEMERAL_GRACE: `${GRACE_MS}ms`,
    SWITCHBOARD_EXPIRY_SWEEP: `${SWEEP_MS}ms`,
    SWITCHBOARD_REQUEST_TIMEOUT: '60s',
  });
}

const portOf = (url: string) => Number(new URL(url).port);

describe('a started service keeps its registration', () => {
  it('deregistered by another client: registers again under the same id, once; SIGTERM then deregisters for good', { timeout: 90_000 }, async () => {
    const service = await runService('inventory', [servers.a.url], '127.0.1.1');
    try {
      const [first] = await stored('inventory', '127.0.1.1');
      expect(first).toMatchObject({ id: service.id });

      // No lease on this one: only the watch can notice.
      await servers.clients.create(servers.b.url).request(UnregisterServiceDocument, { id: service.id });
      const back = await eventually(async () => (await stored('inventory', '127.0.1.1')).find((row) => row.id === service.id), 30_000);
      expect(time(back)).toBeGreaterThan(time(first));
      expect(await stored('inventory', '127.0.1.1')).toHaveLength(1);

      expect(await service.stop('SIGTERM')).toBe(0);
      expect(await stored('inventory', '127.0.1.1')).toEqual([]);
      // Time passing with nothing happening: the process has exited, and no registration it sent reaches the
      // registry after its deregistration.
      await sleep(500);
      expect(await stored('inventory', '127.0.1.1')).toEqual([]);
      expect(await serviceEvents(service.id)).toEqual([
        { type: 'service.registered', reason: null },
        { type: 'service.unregistered', reason: 'deregistered' },
        { type: 'service.registered', reason: null },
        { type: 'service.unregistered', reason: 'deregistered' },
      ]);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('its rows deleted in PostgreSQL (no event): the lease renewal answers NOT_FOUND and it registers again', { timeout: 90_000 }, async () => {
    const service = await runService('leased', [servers.a.url], '127.0.1.2');
    try {
      await servers.database.sql`delete from services where id = ${service.id}`;
      expect(await stored('leased-inventory', '127.0.1.2')).toEqual([]);
      // Renewed every third of its 1s lease: back at the next renewal (nothing else can notice: no event).
      const back = await eventually(async () => (await stored('leased-inventory', '127.0.1.2'))[0], 30_000);
      expect(back.id).toBe(service.id);
      // And kept: still the one instance once renewed past the lease its re-registration began.
      const kept = await renewedAfter('leased-inventory', '127.0.1.2', Date.parse(back.expires_at!));
      expect(kept.map((row) => row.id)).toEqual([service.id]);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('its registry killed, its lease swept meanwhile, the registry restarted on the same port: one instance again', { timeout: 90_000 }, async () => {
    let server = await spawnServer(0);
    const port = portOf(server.url);
    const service = await runService('leased', [server.url], '127.0.1.3');
    try {
      const [before] = await stored('leased-inventory', '127.0.1.3');
      await server.stop('SIGKILL');
      // Server B sweeps the lapsed lease while the service's only registry is down.
      await eventually(async () => ((await stored('leased-inventory', '127.0.1.3')).length === 0 ? true : undefined), 30_000);
      server = await spawnServer(port);
      const back = await eventually(async () => (await stored('leased-inventory', '127.0.1.3'))[0], 30_000);
      expect(back.id).toBe(service.id);
      expect(time(back)).toBeGreaterThan(time(before));
      const kept = await renewedAfter('leased-inventory', '127.0.1.3', Date.parse(back.expires_at!));
      expect(kept.map((row) => row.id)).toEqual([service.id]);
      expect((await serviceEvents(service.id)).map((event) => event.reason)).toEqual([null, 'ttl-expired', null]);
    } finally {
      await service.stop('SIGKILL');
      await server.stop('SIGKILL');
    }
  });

  it('its registry restarted on the same port with a reset database: registers there, once', { timeout: 90_000 }, async () => {
    let server = await spawnServer(0);
    const port = portOf(server.url);
    const [service, reset] = await Promise.all([runService('inventory', [server.url], '127.0.1.4'), createTestDatabase()]);
    try {
      await server.stop('SIGKILL');
      server = await spawnServer(port, reset.url);
      // Nothing in the new database says the instance was lost: the watch, resumed with a cursor the new
      // event log has not reached, is refused, and the keeper registers afresh.
      const rows = await eventually(async () => {
        const found = await reset.sql<{ id: string }[]>`select id from services where name = 'inventory'`;
        return found.length > 0 ? found : undefined;
      }, 30_000);
      expect(rows.map((row) => row.id)).toEqual([service.id]);
    } finally {
      await service.stop('SIGKILL');
      await server.stop('SIGKILL');
      await reset.drop();
    }
  });
});

describe('stopping is final', () => {
  it('a re-registration in flight when stop() begins is answered before the deregistration, so it cannot undo it', async () => {
    const kept = await tsImport('./fixtures/kept.js', import.meta.url).then((module) => module as typeof Kept);
    let delayMs = 0;
    /** Every registration sent, until answered (or failed). */
    const sent: Promise<unknown>[] = [];
    /** A registry whose registrations take a while to reach the server (a slow network). */
    class SlowRegistry extends kept.SwitchboardRegistry {
      override registerService(definition: ServiceDefinition, options?: { ephemeral?: boolean }) {
        // The simulated network latency, not a wait for an event.
        const registering = sleep(delayMs).then(() => super.registerService(definition, options));
        sent.push(registering);
        return registering;
      }
    }
    const { registry, close } = kept.registryAt(servers.a.url, SlowRegistry);
    const running = await kept.start(kept.InventoryService, { registry, address: '127.0.1.5', handleSignals: false });
    try {
      delayMs = 500;
      await servers.clients.create(servers.b.url).request(UnregisterServiceDocument, { id: running.id });
      // The watch saw the removal: a re-registration is on its way.
      await eventually(() => (running.registrations() === 2 ? true : undefined), 30_000, 10);
    } finally {
      await running.stop();
      await close();
    }
    // Until every registration sent has been answered (one sent meanwhile too): one that reached the registry after
    // the deregistration would have brought the instance back by then.
    for (let answered = 0; answered < sent.length;) {
      answered = sent.length;
      await Promise.allSettled(sent);
    }
    expect(await stored('inventory', '127.0.1.5')).toEqual([]);
    expect((await serviceEvents(running.id)).at(-1)).toEqual({ type: 'service.unregistered', reason: 'deregistered' });
  });
});

describe('ephemeral: bound to the registry connection', () => {
  it('registers with no lease traffic; killed with SIGKILL, it is removed as connection-lost within the grace period', { timeout: 90_000 }, async () => {
    const service = await runService('session', [servers.a.url], '127.0.1.6');
    let killedAt = 0;
    try {
      const [row] = await stored('session-inventory', '127.0.1.6');
      expect(row).toMatchObject({ id: service.id });
      expect(row!.session_id).not.toBeNull();
      // Still there past the end of the lease it was registered with, and never renewed by the client: the server
      // renews the session's lease.
      const [later] = await renewedAfter('session-inventory', '127.0.1.6', Date.parse(row!.expires_at!));
      expect(later).toMatchObject({ id: service.id, registered_at: row!.registered_at, last_heartbeat_at: row!.last_heartbeat_at });
    } finally {
      await service.stop('SIGKILL');
      killedAt = Date.now();
    }
    await eventually(async () => ((await stored('session-inventory', '127.0.1.6')).length === 0 ? true : undefined), GRACE_MS + SWEEP_MS + 1_500, 50);
    const removedAfter = Date.now() - killedAt;
    expect(removedAfter).toBeLessThanOrEqual(GRACE_MS + SWEEP_MS + 1_500);
    expect((await serviceEvents(service.id)).map((event) => event.reason)).toEqual([null, 'connection-lost']);
  });

  it('its registry killed, the client moves to the other server: still one instance, bound to the same session', { timeout: 90_000 }, async () => {
    const server = await spawnServer(0);
    const service = await runService('session', [server.url, servers.b.url], '127.0.1.8');
    try {
      const [before] = await stored('session-inventory', '127.0.1.8');
      expect(before?.session_id).toBeTruthy();
      await server.stop('SIGKILL');
      // The killed server renewed the lease last before now (database clock): that lease is out by `lapse`.
      const [clock] = await servers.database.sql<{ now: string }[]>`select clock_timestamp() as now`;
      const lapse = Date.parse(clock!.now) + GRACE_MS;
      // Its session reconnects to B (the next URL) and B renews it; had it lapsed first, the keeper registers it again.
      // Either way, once renewed past that lease's end it has outlived the killed server.
      const after = await renewedAfter('session-inventory', '127.0.1.8', lapse);
      expect(after.map((row) => [row.id, row.session_id])).toEqual([[service.id, before!.session_id]]);
    } finally {
      await service.stop('SIGKILL');
      await server.stop('SIGKILL');
    }
  });

  it('a clean stop (SIGTERM) deregisters at once', async () => {
    const service = await runService('session', [servers.a.url], '127.0.1.7');
    try {
      // Gone by the time the process exits, deregistered by it (not lost with its connection, a grace period later).
      expect(await service.stop('SIGTERM')).toBe(0);
      expect(await stored('session-inventory', '127.0.1.7')).toEqual([]);
      expect((await serviceEvents(service.id)).map((event) => event.reason)).toEqual([null, 'deregistered']);
    } finally {
      await service.stop('SIGKILL');
    }
  });
});
