import { tracked } from './leaks.js';
import { frontendReader } from './statement-proxy.js';
import { startTcpProxy } from './tcp-proxy.js';

/**
 * A TCP proxy (./tcp-proxy.ts) in front of PostgreSQL that a test turns into an outage: `cut()` drops
 * every connection and refuses new ones (as a stopped or partitioned server does), `restore()` listens
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
  let swallow: { pattern: RegExp; sent: () => void } | undefined;

  const tcp = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) }, (client, upstream) => {
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
  });

  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(tcp.port);
  const proxy: FaultProxy = {
    url: url.toString(),
    cut: tcp.cut,
    restore: tcp.restore,
    swallowCommitAfter: (pattern) => new Promise<void>((sent) => (swallow = { pattern, sent })),
    stop: tcp.cut,
  };
  return tracked('proxy', `fault proxy at ${proxy.url}`, proxy, 'stop');
}
