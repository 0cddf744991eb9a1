import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tracked } from './leaks.js';

/** What an HTTP target answers on one path. */
export interface HttpAnswer {
  status: number;
  body?: string;
  delayMs?: number;
}

/**
 * A real HTTP server whose answers the test switches per path, and which counts
 * the hits on each path (with their times) to see how often checks ran.
 */
export async function startHttpTarget() {
  const answers = new Map<string, HttpAnswer>();
  const hits = new Map<string, number[]>();
  const requests = new Map<string, { method: string; headers: Record<string, unknown> }>();
  const server = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, [...(hits.get(path) ?? []), Date.now()]);
    requests.set(path, { method: req.method ?? '', headers: { ...req.headers } });
    const answer = answers.get(path) ?? { status: 200, body: 'ok' };
    const reply = () => {
      if (res.destroyed) return;
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body ?? '');
    };
    if (answer.delayMs) setTimeout(reply, answer.delayMs);
    else reply();
  });
  // Keep-alive connections from the probes would otherwise hold close() open.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const target = {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    port,
    answer: (path: string, answer: HttpAnswer) => answers.set(path, answer),
    hits: (path: string) => hits.get(path) ?? [],
    lastRequest: (path: string) => requests.get(path),
    allHits: hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return tracked('target', `HTTP 127.0.0.1:${port}`, target, 'close');
}

/** An open TCP port (a server that accepts and closes) and a closed one. */
export async function startTcpTargets() {
  const server = createTcpServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const open = (server.address() as AddressInfo).port;
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closed = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const targets = {
    open: `127.0.0.1:${open}`,
    closed: `127.0.0.1:${closed}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return tracked('target', `TCP 127.0.0.1:${open}`, targets, 'close');
}

/** ServingStatus values of grpc.health.v1. */
export const Serving = { UNKNOWN: 'UNKNOWN', SERVING: 'SERVING', NOT_SERVING: 'NOT_SERVING' } as const satisfies Record<string, ServingStatus>;

/**
 * A real gRPC server with grpc.health.v1.Health served by gRPC's own reference
 * implementation (grpc-health-check), statuses switchable per service. Not our
 * probe's codec: a codec tested against itself would agree with any mistake it makes.
 */
export async function startGrpcHealthServer() {
  const health = new HealthImplementation({ '': Serving.SERVING });
  const server = new GrpcServer();
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  const target = {
    address: `127.0.0.1:${port}`,
    set: (service: string, status: ServingStatus) => health.setStatus(service, status),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  return tracked('target', `gRPC 127.0.0.1:${port}`, target, 'close');
}

/** A shell script whose exit code (and a sleep) the test sets by writing files next to it. */
export function createScriptTarget() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-script-'));
  const script = join(dir, 'check.sh');
  writeFileSync(
    script,
    `#!/bin/sh
sleep "$(cat "${dir}/sleep" 2>/dev/null || echo 0)"
echo "disk ok: $(cat "${dir}/code")"
exit "$(cat "${dir}/code")"
`,
  );
  chmodSync(script, 0o755);
  const set = (code: number, sleepSeconds = 0) => {
    writeFileSync(join(dir, 'code'), String(code));
    writeFileSync(join(dir, 'sleep'), String(sleepSeconds));
  };
  set(0);
  return tracked('target', `script ${script}`, { script, set, close: async () => rmSync(dir, { recursive: true, force: true }) }, 'close');
}
