import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tracked } from './leaks.js';
import { frontendReader } from './statement-proxy.js';

/**
 * A TCP proxy in front of PostgreSQL that a test turns into an outage: `cut()` drops every
 * connection and refuses new ones (as a stopped or partitioned server does), `restore()` listens
 * again on the same port. `swallowCommitAfter(pattern)` lets a COMMIT through to PostgreSQL but
 * never returns its answer: a commit in flight, made deterministic.
 */
export interface FaultProxy {
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  /**
   * On the next connection that runs a statement matching `pattern` then COMMIT, the COMMIT reaches
   * PostgreSQL and its answer (and all after it) is dropped. Resolves once that COMMIT was sent on.
   */
  swallowCommitAfter(pattern: RegExp): Promise<void>;
  stop(): Promise<void>;
}

export async function startFaultProxy(databaseUrl: string): Promise<FaultProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  let swallow: { pattern: RegExp; sent: () => void } | undefined;

  const onConnection = (client: Socket) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    let matched = false;
    let mute = false;
    const reader = frontendReader((text) => {
      if (swallow && swallow.pattern.test(text)) matched = true;
      if (matched && swallow && /^\s*commit\s*$/i.test(text)) {
        mute = true;
        swallow.sent();
        swallow = undefined;
      }
    });
    client.on('data', (chunk: Buffer) => {
      reader(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!mute) client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  };

  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const next = createServer(onConnection);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        server = next;
        resolve((next.address() as AddressInfo).port);
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (!server) return resolve();
      const closing = server;
      server = undefined;
      closing.close(() => resolve());
    });

  const port = await listen(0);
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const proxy: FaultProxy = {
    url: url.toString(),
    cut: close,
    async restore() {
      if (!server) await listen(port);
    },
    swallowCommitAfter: (pattern) => new Promise<void>((sent) => (swallow = { pattern, sent })),
    stop: close,
  };
  return tracked('proxy', `fault proxy at ${proxy.url}`, proxy, 'stop');
}
