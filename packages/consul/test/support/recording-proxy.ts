import { createServer, request as forward, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tracked } from '../../../../test/support/leaks.js';

/** One request as a client sent it. */
export interface RecordedRequest {
  method: string;
  /** Decoded, without the query. */
  path: string;
  /** In the order sent, repeated names kept. */
  query: [string, string][];
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RecordingProxy {
  /** "127.0.0.1:<port>": what a client is pointed at. */
  address: string;
  port: number;
  /** Every request so far, in arrival order. */
  requests: RecordedRequest[];
  /** Requests forwarded and not answered yet (a blocking query held upstream). */
  held(): number;
  /**
   * From now on, answers to requests for which `rewrite` returns a string carry that as their X-Consul-Index
   * (a server whose index went backwards, or says 0); undefined stops it.
   */
  rewriteIndex(rewrite: ((request: RecordedRequest) => string | undefined) | undefined): void;
  close(): Promise<void>;
}

/**
 * An HTTP server (node:http) in front of a Consul API that records each request (method, path, query, headers,
 * body) and forwards it unchanged, so the client gets real answers: what a client sends for an operation can
 * be compared with what another sends. A client that leaves (a watch stopped) aborts its forwarded request.
 */
export async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let held = 0;
  let rewrite: ((request: RecordedRequest) => string | undefined) | undefined;
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(incoming.url ?? '/', 'http://proxy');
      const recorded: RecordedRequest = {
        method: incoming.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        query: [...url.searchParams],
        headers: incoming.headers,
        body: body.toString('utf8'),
      };
      requests.push(recorded);
      held += 1;
      let done = false;
      const finish = () => {
        if (!done) held -= 1;
        done = true;
      };
      const upstream = forward(
        { host: '127.0.0.1', port: targetPort, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: `127.0.0.1:${targetPort}` } },
        (answer) => {
          const index = rewrite?.(recorded);
          outgoing.writeHead(answer.statusCode ?? 502, index === undefined ? answer.headers : { ...answer.headers, 'x-consul-index': index });
          answer.pipe(outgoing);
          answer.on('end', finish);
        },
      );
      upstream.on('error', () => {
        finish();
        outgoing.destroy();
      });
      outgoing.on('close', () => {
        finish();
        upstream.destroy();
      });
      upstream.end(body);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: RecordingProxy = {
    address: `127.0.0.1:${port}`,
    port,
    requests,
    held: () => held,
    rewriteIndex: (next) => (rewrite = next),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return tracked('recording proxy', `recording proxy on port ${port}`, proxy, 'close');
}
