import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tracked } from './leaks.js';

/** A TCP proxy in front of PostgreSQL that counts the statements its clients send through it. */
export interface StatementProxy {
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url: string;
  /** Statements sent so far: simple-protocol Query and extended-protocol Execute messages. */
  readonly statements: number;
  /** The SQL of each of those statements, in order (an Execute's is the text its Parse named). */
  readonly texts: readonly string[];
  stop(): Promise<void>;
}

// Untyped messages a client may send before its startup message.
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * Starts a proxy to the server of `databaseUrl`. It reads the PostgreSQL frontend protocol
 * (what a client sends): counting there shows every statement the database is asked to run,
 * read-only ones included, at once rather than when the server's statistics catch up.
 */
export async function startStatementProxy(databaseUrl: string): Promise<StatementProxy> {
  const target = new URL(databaseUrl);
  const texts: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    const reader = frontendReader((text) => texts.push(text));
    client.on('data', (chunk: Buffer) => {
      reader(chunk);
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  const proxy: StatementProxy = {
    url: url.toString(),
    get statements() {
      return texts.length;
    },
    texts,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return tracked('proxy', `statement proxy at ${proxy.url}`, proxy, 'stop');
}

/** Splits one connection's client-to-server bytes into messages and reports each statement's SQL. */
export function frontendReader(onStatement: (text: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let started = false;
  // Statement name → SQL; Bind names the statement the next Execute runs.
  const prepared = new Map<string, string>();
  let bound = '';
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (!started) {
        // Startup-phase messages have no type byte: length, then a code.
        if (pending.length < 8) return;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return;
        const code = pending.readInt32BE(4);
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) started = true;
        pending = pending.subarray(length);
        continue;
      }
      if (pending.length < 5) return;
      const type = String.fromCharCode(pending[0]!);
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) return;
      const body = pending.subarray(5, 1 + length);
      pending = pending.subarray(1 + length);
      if (type === 'Q') onStatement(cString(body, 0).text);
      else if (type === 'P') {
        const name = cString(body, 0);
        prepared.set(name.text, cString(body, name.next).text);
      } else if (type === 'B') {
        const portal = cString(body, 0);
        bound = cString(body, portal.next).text;
      } else if (type === 'E') onStatement(prepared.get(bound) ?? '(unknown statement)');
    }
  };
}

function cString(buffer: Buffer, start: number): { text: string; next: number } {
  const end = buffer.indexOf(0, start);
  return { text: buffer.toString('utf8', start, end), next: end + 1 };
}
