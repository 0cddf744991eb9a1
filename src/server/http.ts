import { toDomainError } from '../db/errors.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toError } from '../errors.js';
import type { RegistryContext } from '../graphql/context.js';
import type { Logger } from '../logger.js';
import type { RequestLimits } from '../config.js';
import type { Authenticator } from './auth.js';
import { BodyTooLargeError, readBody } from './body.js';
import { attachWebSocket, createGraphQLHandler, GRAPHQL_PATH, WsCloseCode, type AuthenticatedRequest } from './graphql.js';
import { sendGraphQLError, sendJson } from './responses.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  authenticator: Authenticator;
  limits: RequestLimits;
  /** Runs of an operation before graphql-jit compiles it; undefined: never. */
  jitAfterRuns: number | undefined;
  context: RegistryContext;
  log: Logger;
  /** Readiness: resolves when the node can serve (its database answers). */
  checkReady: () => Promise<void>;
}

export interface HttpServer {
  url: string;
  port: number;
  /**
   * Graceful stop: refuse new connections, end subscriptions, let in-flight
   * requests finish; after `timeoutMs`, cut whatever is left.
   */
  close(timeoutMs: number): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { log } = options;
  const { authenticator, limits } = options;
  const yoga = createGraphQLHandler(options.context, authenticator, limits, log, { jitAfterRuns: options.jitAfterRuns });
  let shuttingDown = false;

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      log.error({ err: toError(error) }, 'request handling failed');
      // A database outage before GraphQL runs (a token lookup, say) is UNAVAILABLE too, never INTERNAL.
      const unavailable = toDomainError(error);
      if (res.headersSent) res.destroy();
      else if (unavailable?.code === 'UNAVAILABLE') sendGraphQLError(res, 503, 'UNAVAILABLE', unavailable.message, { 'retry-after': '1' });
      else sendGraphQLError(res, 500, 'INTERNAL', 'Unexpected error.');
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') return sendReadiness(res);
    if (path !== GRAPHQL_PATH) return sendJson(res, 404, { error: `Nothing here. GraphQL lives at ${GRAPHQL_PATH}.` });

    // The GraphiQL page itself holds no data; the operations it sends carry the token.
    const wantsGraphiQL = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
    const principal = await authenticator.authenticate(req.headers.authorization);
    if (!wantsGraphiQL && !principal) {
      return sendGraphQLError(res, 401, 'UNAUTHENTICATED', 'Missing, invalid, revoked or expired token: send "Authorization: Bearer <token>".', {
        'www-authenticate': 'Bearer',
      });
    }
    (req as AuthenticatedRequest).principal = principal;
    if (req.method === 'POST') {
      try {
        // Yoga reads a body already on the request instead of the stream.
        (req as IncomingMessage & { body?: Buffer }).body = await readBody(req, limits.maxBodyBytes);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        return sendGraphQLError(res, 413, 'BAD_USER_INPUT', `Request body exceeds ${limits.maxBodyBytes} bytes.`, { connection: 'close' });
      }
    }
    await yoga.requestListener(req, res);
  }

  async function sendReadiness(res: ServerResponse): Promise<void> {
    if (shuttingDown) return sendJson(res, 503, { status: 'shutting down' });
    try {
      await options.checkReady();
      sendJson(res, 200, { status: 'ready' });
    } catch (error) {
      sendJson(res, 503, { status: 'unavailable', reason: toError(error).message });
    }
  }

  const { wsServer, graphqlWs } = attachWebSocket(server, yoga, authenticator, limits, log);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    port,
    async close(timeoutMs) {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections would otherwise hold close() open.
      server.closeIdleConnections();
      for (const socket of wsServer.clients) socket.close(WsCloseCode.GoingAway, 'Server shutting down');
      await graphqlWs.dispose();
      wsServer.close();
      const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      if ((await Promise.race([closed, deadline])) === 'timeout') {
        log.warn('shutdown timeout reached; closing the remaining connections');
        server.closeAllConnections();
        await closed;
      }
      clearInterval(idleSweep);
    },
  };
}
