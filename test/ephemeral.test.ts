import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HeartbeatDocument, RegisterServiceDocument, ServiceDocument } from '@switchboard/client';
import { errorCode, instance } from './support/client.js';
import { eventually, sleep } from './support/wait.js';
import { trackOpen } from './support/leaks.js';
import { useServerPair } from './support/nodes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = fileURLToPath(new URL('fixtures/ephemeral-client.mjs', import.meta.url));

const GRACE_MS = 1_500;
const SWEEP_MS = 200;
/** Room for a loaded machine: a sweep's transaction, the event loop of two servers and this one. */
const SLACK_MS = 1_500;

const servers = useServerPair({ SWITCHBOARD_EPHEMERAL_GRACE: `${GRACE_MS}ms`, SWITCHBOARD_EXPIRY_SWEEP: `${SWEEP_MS}ms` });

interface ClientProcess {
  registered: { id: string; registeredAt: string; ttl: string | null };
  kill(): Promise<void>;
}

/** A client process (test/fixtures/ephemeral-client.mjs) that registers `id` ephemeral on the first of `urls`, then stays silent. */
async function spawnClient(sessionId: string, id: string, urls: string[]): Promise<ClientProcess> {
  const child = spawn(process.execPath, [CLIENT, sessionId, id, ...urls], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const release = trackOpen('process', `ephemeral client (pid ${child.pid})`, async () => {
    child.kill('SIGKILL');
    await exited;
  });
  void exited.then(release);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const registered = await new Promise<ClientProcess['registered']>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => resolve((JSON.parse(line) as { registered: ClientProcess['registered'] }).registered));
    void exited.then(() => reject(new Error(`the client exited before registering: ${stderr}`)));
  });
  return {
    registered,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The instance as the table holds it, or undefined once it is gone. */
async function storedInstance(id: string) {
  const [row] = await servers.database.sql<{ id: string; registered_at: string; session_id: string | null; expires_at: string }[]>`
    select id, registered_at, session_id, expires_at from services where id = ${id}`;
  return row;
}

/** Until the instance's lease, as its server renews it, ends at `leaseEnd` or later (or the instance is gone: the caller's assertions say so). */
async function renewedUntil(id: string, leaseEnd: number, timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const row = await storedInstance(id);
      return row === undefined || new Date(row.expires_at).getTime() >= leaseEnd ? true : undefined;
    },
    timeoutMs,
    50,
  );
}

async function removals(id: string) {
  return servers.database.sql<{ data: { reason: string } }[]>`
    select data from events where type = 'service.unregistered' and data->>'id' = ${id} order by id`;
}

describe('ephemeral instances (bound to their connection)', () => {
  it('refuses ephemeral over HTTP, or with a ttl, and writes nothing', async () => {
    const http = servers.clients.create(servers.a.url);
    const overHttp = 'ephemeral-over-http';
    expect(await errorCode(http.request(RegisterServiceDocument, { input: instance({ id: overHttp }), ephemeral: true }))).toBe('BAD_USER_INPUT');

    // Over the WebSocket (the client always sends a session id), a ttl of its own is refused.
    const ws = servers.clients.create(servers.a.url);
    const withTtl = 'ephemeral-with-ttl';
    const refused = ws.subscribe(RegisterServiceDocument, { input: instance({ id: withTtl, ttl: '10s' }), ephemeral: true });
    expect(await errorCode(refused.next())).toBe('BAD_USER_INPUT');

    expect(await storedInstance(overHttp)).toBeUndefined();
    expect(await storedInstance(withTtl)).toBeUndefined();
    const events = await servers.database.sql`select id from events where data->>'id' in (${overHttp}, ${withTtl})`;
    expect(events).toHaveLength(0);
  });

  it('stays while its client is connected and silent; a client killed with SIGKILL loses it after the grace period', async () => {
    const id = `ephemeral-${randomUUID()}`;
    const sessionId = randomUUID();
    const client = await spawnClient(sessionId, id, [servers.a.url]);
    try {
      expect(client.registered).toMatchObject({ id, ttl: '1.5s' });
      // Discoverable through the other server too, once its catalog has read the registration; its session stays on the server.
      const other = servers.clients.create(servers.b.url);
      const seen = await eventually(async () => (await other.request(ServiceDocument, { id })).service ?? undefined, 10_000);
      expect(seen).toMatchObject({ id, name: 'ephemeral-demo' });
      expect((await storedInstance(id))?.session_id).toBe(sessionId);
      // A heartbeat on it is harmless: it renews the same lease, the instance stays ephemeral.
      expect((await other.request(HeartbeatDocument, { id })).heartbeat.id).toBe(id);

      // Several grace periods with no traffic from the client: server A's renewals keep it, until it has
      // outlived the lease it holds now by three whole grace periods.
      const firstLeaseEnd = new Date((await storedInstance(id))!.expires_at).getTime();
      await renewedUntil(id, firstLeaseEnd + 3 * GRACE_MS, 4 * GRACE_MS + SLACK_MS + 5_000);
      expect(await storedInstance(id)).toMatchObject({ id, session_id: sessionId });
      expect(await removals(id)).toEqual([]);
    } finally {
      await client.kill();
    }
    const killedAt = Date.now();

    // The lease the last renewal gave: about the grace period from then (a renewal every third of it).
    const leaseEnd = new Date((await storedInstance(id))!.expires_at).getTime();
    expect(leaseEnd - killedAt).toBeGreaterThan(0);
    expect(leaseEnd - killedAt).toBeLessThanOrEqual(GRACE_MS + 100);
    // Not removed before its lease ends (time passing, with nothing happening, is the subject); removed soon after, by the sweep.
    await sleep(leaseEnd - Date.now() - 100);
    expect(await storedInstance(id)).toBeDefined();
    await eventually(async () => ((await storedInstance(id)) ? undefined : true), SWEEP_MS + SLACK_MS, 50);
    expect((await removals(id)).map((event) => event.data.reason)).toEqual(['connection-lost']);
  });

  it('survives its client reconnecting to another server within the grace period; that server then holds it', async () => {
    const id = `ephemeral-${randomUUID()}`;
    const client = await spawnClient(randomUUID(), id, [servers.a.url, servers.b.url]);
    try {
      const registered = await storedInstance(id);
      expect(registered).toBeDefined();

      // Server A dies: it renews nothing any more, and the client reconnects to B with the same session id.
      await servers.a.stop('SIGKILL');
      // B holds it: B's renewals keep it a whole grace period past the moment A's last lease ran out.
      const leaseFromA = new Date((await storedInstance(id))!.expires_at).getTime();
      await renewedUntil(id, leaseFromA + 2 * GRACE_MS, 4 * GRACE_MS + SLACK_MS + 5_000);
      // The same instance (never removed, nor registered again), and no removal event.
      expect(await storedInstance(id)).toMatchObject({ id, registered_at: registered!.registered_at, session_id: registered!.session_id });
      expect(await removals(id)).toEqual([]);
    } finally {
      await client.kill();
    }

    // B was the one keeping it: once the client is gone, it goes.
    await eventually(async () => ((await storedInstance(id)) ? undefined : true), GRACE_MS + SWEEP_MS + SLACK_MS, 50);
    expect((await removals(id)).map((event) => event.data.reason)).toEqual(['connection-lost']);
  });
});
