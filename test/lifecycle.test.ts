import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnEventsDocument, RegisterServiceDocument, ServiceDocument } from '@switchboard/client';
import { clientFactory, instance } from './support/client.js';
import { eventually, withTimeout } from './support/wait.js';
import { createTestDatabase } from './support/database.js';
import { spawnNode } from './support/nodes.js';

const clients = clientFactory();
const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-lifecycle-'));

afterAll(async () => {
  await clients.closeAll();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('process lifecycle with the embedded database', () => {
  // Two starts of a real process with its own PostgreSQL (initdb on the first): minutes on a loaded machine, not seconds.
  it('starts with no DATABASE_URL, shuts down cleanly on SIGTERM, and keeps its data across a restart', { timeout: 120_000 }, async () => {
    const first = await spawnNode({ DATABASE_URL: undefined, SWITCHBOARD_DATA_DIR: dataDir });
    const client = clients.create(first.url);
    await client.request(RegisterServiceDocument, { input: instance({ id: 'durable-1', name: 'durable', ttl: '1h' }) });

    // Open subscriptions over both transports; shutdown must end them, not hang on them.
    const wsStream = client.subscribe(OnEventsDocument, { after: '0' });
    await withTimeout(wsStream.next(), 5_000, 'websocket subscription did not start');
    const sse = await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { events { id } }' }),
    });
    const sseDone = sse.text();

    // A request still uploading its body when the signal arrives must still be answered.
    const inFlight = startSlowRequest(first.url, JSON.stringify({ query: '{ service(id: "durable-1") { id } }' }));
    await inFlight.headersSent;

    const postmasterPid = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const exitCode = first.stop('SIGTERM');
    // The shutdown has begun (it logs this as it stops accepting connections); then the upload completes.
    await eventually(() => (first.logs.some((entry) => String(entry['msg']).startsWith('shutting down')) ? true : undefined), 10_000);
    inFlight.finish();

    expect(await inFlight.response).toEqual({ status: 200, body: { data: { service: { id: 'durable-1' } } } });
    await withTimeout(sseDone, 10_000, 'SSE stream was not ended by the shutdown');
    // WebSocket clients are told the server is going away (1001), so they reconnect and resume.
    await expect(withTimeout(wsStream.next(), 10_000, 'websocket not closed')).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { closeCode: 1001 } });
    expect(await exitCode).toBe(0);
    expect(first.logs.some((entry) => entry['msg'] === 'shutdown complete')).toBe(true);

    // The embedded PostgreSQL went down with it.
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(isAlive(postmasterPid)).toBe(false);

    const second = await spawnNode({ DATABASE_URL: undefined, SWITCHBOARD_DATA_DIR: dataDir });
    try {
      const { service } = await clients.create(second.url).request(ServiceDocument, { id: 'durable-1' });
      expect(service).toMatchObject({ id: 'durable-1', name: 'durable', ttl: '1h' });
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
  });

  it('keeps data across a restart with DATABASE_URL too', { timeout: 120_000 }, async () => {
    const database = await createTestDatabase();
    try {
      const first = await spawnNode({ DATABASE_URL: database.url });
      await clients.create(first.url).request(RegisterServiceDocument, { input: instance({ id: 'external-1' }) });
      expect(await first.stop()).toBe(0);

      const second = await spawnNode({ DATABASE_URL: database.url });
      const { service } = await clients.create(second.url).request(ServiceDocument, { id: 'external-1' });
      expect(service?.id).toBe('external-1');
      expect(await second.stop()).toBe(0);
    } finally {
      await database.drop();
    }
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/status`, 'utf8').includes('State:\tZ');
  } catch {
    return false;
  }
}

/**
 * A POST whose body is sent in two halves, so the request is in flight until `finish()`. It asks for
 * `100 Continue`, which the server answers once it has the headers and is handling the request:
 * `headersSent` resolves then.
 */
function startSlowRequest(url: string, body: string) {
  const half = Math.floor(body.length / 2);
  const req = httpRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
  });
  const response = new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, half));
  const headersSent = new Promise<void>((resolve) => req.once('continue', () => resolve()));
  return {
    headersSent,
    response,
    finish: () => req.end(body.slice(half)),
  };
}
