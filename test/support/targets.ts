import { Server as GrpcServer, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeHealthCheckRequest,
  encodeHealthCheckResponse,
  HEALTH_CHECK_METHOD,
} from '../../src/health/probes/grpc.js';

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
  return {
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
  return {
    open: `127.0.0.1:${open}`,
    closed: `127.0.0.1:${closed}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** ServingStatus values of grpc.health.v1. */
export const Serving = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2 } as const;

/** A real gRPC server implementing grpc.health.v1.Health/Check, statuses switchable per service. */
export async function startGrpcHealthServer() {
  const statuses = new Map<string, number>([['', Serving.SERVING]]);
  const server = new GrpcServer();
  server.addService(
    {
      Check: {
        path: HEALTH_CHECK_METHOD,
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (status: number) => encodeHealthCheckResponse(status),
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    },
    {
      Check: (call: ServerUnaryCall<Buffer, number>, callback: sendUnaryData<number>) => {
        const service = decodeHealthCheckRequest(call.request);
        const status = statuses.get(service);
        if (status === undefined) return callback({ code: 5, details: `unknown service ${service}` }); // NOT_FOUND
        callback(null, status);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    set: (service: string, status: number) => statuses.set(service, status),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
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
  return { script, set, close: () => rmSync(dir, { recursive: true, force: true }) };
}
