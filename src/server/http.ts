import { toError } from '@switchboard/contracts';
import { toDomainError } from '../db/errors.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPort } from '../net.js';
import type { RegistryContext } from '../graphql/context.js';
import type { Logger } from '../logger.js';
import type { ConnectionLimits, RequestLimits } from '../settings.js';
import type { ServerMetrics } from '../metrics/server.js';
import type { Registry } from 'prom-client';
import { CONSUL_PATH_PREFIX, createConsulApi } from '../consul/index.js';
import { sendTokenUnchecked, type Authenticator } from './auth.js';
import { BodyRefusedError, readBody } from '../http/body.js';
import { DASHBOARD_PATH, DashboardAssets } from './dashboard-assets.js';
import { disconnectFields, isClientDisconnect } from './disconnects.js';
import { GRAPHIQL_ASSETS_PATH, GraphiQLAssets } from './graphiql-assets.js';
import { attachWebSocket, createGraphQLHandler, GRAPHIQL_OPTIONS, GRAPHQL_PATH, WsCloseCode, type AuthenticatedRequest } from './graphql.js';
import { applyConnectionLimits, connectionsCheckingInterval } from './limits.js';
import { METRICS_PATH, serveMetrics } from './metrics.js';
import { withinDeadline } from '../http/deadline.js';
import { directOperations } from './direct-operations.js';
import { sendGraphQLError, sendJson } from './responses.js';
import type { ConnectedSessions } from './sessions.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  authenticator: Authenticator;
  limits: RequestLimits;
  connections: ConnectionLimits;
  /** Runs of an operation before graphql-jit compiles it; undefined: never. */
  jitAfterRuns: number | undefined;
  /** Whether /ui serves the dashboard's source maps (SWITCHBOARD_DASHBOARD_SOURCEMAPS). */
  dashboardSourceMaps?: boolean | undefined;
  context: RegistryContext;
  log: Logger;
  /** Readiness: resolves when the node can serve (its database answers). */
  checkReady: () => Promise<void>;
  /** How long a query or mutation may take (SWITCHBOARD_REQUEST_TIMEOUT). */
  requestTimeoutMs: number;
  /** The WebSocket sessions connected here, whose ephemeral instances this server keeps. */
  sessions: ConnectedSessions;
  /** What the Consul-compatible API (/v1/) reports as its datacenter and agent node name. */
  consul: { datacenter: string; nodeName: string };
  /** The node's metrics: served at /metrics, and told what this server holds open. */
  metrics: { registry: Registry; server: ServerMetrics };
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

/** A load balancer asking /readyz wants an answer now, not when the database's connect timeout ends. */
const READINESS_TIMEOUT_MS = 2_000;

/** Whether `check` succeeds within `timeoutMs`; logs when readiness changes, with the reason. */
function readinessProbe(check: () => Promise<void>, timeoutMs: number, log: Logger): () => Promise<boolean> {
  let wasReady = true;
  return async () => {
    try {
      await withinDeadline(check(), timeoutMs);
      if (!wasReady) log.info('ready: the database answers again');
      wasReady = true;
    } catch (error) {
      if (wasReady) log.warn({ err: toError(error) }, 'not ready: the database is unreachable');
      wasReady = false;
    }
    return wasReady;
  };
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { log } = options;
  const { authenticator, limits } = options;
  const yoga = createGraphQLHandler(options.context, authenticator, limits, log, {
    jitAfterRuns: options.jitAfterRuns,
    requestTimeoutMs: options.requestTimeoutMs,
    metrics: options.metrics.registry,
  });
  const answerDirectly = directOperations(yoga, options.context.counters);
  const metricsEndpoint = {
    registry: options.metrics.registry,
    authenticate: (credential: string | undefined) => authenticator.authenticate(credential),
    timeoutMs: options.requestTimeoutMs,
    log,
  };
  const graphiql = new GraphiQLAssets(GRAPHIQL_OPTIONS);
  const dashboard = new DashboardAssets(authenticator.enforced, undefined, options.dashboardSourceMaps);
  const consul = createConsulApi({
    ...options.context,
    ...options.consul,
    authenticate: (token) => authenticator.authenticate(token),
    maxBodyBytes: limits.maxBodyBytes,
    requestTimeoutMs: options.requestTimeoutMs,
    log: log.child({ api: 'consul' }),
  });
  let shuttingDown = false;

  const server = createServer({ connectionsCheckingInterval: connectionsCheckingInterval(options.connections) }, (req, res) => {
    route(req, res).catch((error: unknown) => {
      // A client that went away (aborted body, reset socket) is routine churn, not a fault.
      if (isClientDisconnect(error)) {
        log.debug(disconnectFields(error), 'client disconnected');
        res.destroy();
        return;
      }
      log.error({ err: toError(error) }, 'request handling failed');
      // A database outage before GraphQL runs (a token lookup, say) is UNAVAILABLE too, never INTERNAL.
      const unavailable = toDomainError(error);
      if (res.headersSent) res.destroy();
      else if (unavailable?.code === 'UNAVAILABLE') sendGraphQLError(res, 503, 'UNAVAILABLE', unavailable.message, { 'retry-after': '1' });
      else sendGraphQLError(res, 500, 'INTERNAL', 'Unexpected error.');
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') return sendReadiness(res);
    // GraphiQL holds no data (the operations it sends carry the token), so it is served
    // without one, from prebuilt shared buffers: it costs an unauthenticated caller nothing.
    if (path.startsWith(GRAPHIQL_ASSETS_PATH)) return graphiql.serveAsset(req, res, path);
    // The dashboard's files hold no data either: the page asks for a token before it reads anything.
    if (path === DASHBOARD_PATH || path.startsWith(`${DASHBOARD_PATH}/`)) return dashboard.serve(req, res, path);
    // Same port, its own tokens and errors: Consul clients send X-Consul-Token and read plain text.
    if (path.startsWith(CONSUL_PATH_PREFIX)) return consul.handle(req, res);
    if (path === METRICS_PATH) return serveMetrics(req, res, metricsEndpoint);
    if (path !== GRAPHQL_PATH) return sendJson(res, 404, { error: `Nothing here. GraphQL lives at ${GRAPHQL_PATH}.` });
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html')) return graphiql.servePage(req, res);

    let principal;
    try {
      principal = await withinDeadline(authenticator.authenticate(req.headers.authorization), options.requestTimeoutMs);
    } catch (error) {
      // An issued token is looked up in the database: while it is away, that is UNAVAILABLE, not a 500.
      log.warn({ err: toError(error) }, 'could not check a token: the database is unreachable');
      return sendTokenUnchecked(res);
    }
    if (!principal) {
      return sendGraphQLError(res, 401, 'UNAUTHENTICATED', 'Missing, invalid, revoked or expired token: send "Authorization: Bearer <token>".', {
        'www-authenticate': 'Bearer',
      });
    }
    (req as AuthenticatedRequest).principal = principal;
    if (req.method === 'POST') {
      let body: Buffer;
      try {
        body = await readBody(req, limits.maxBodyBytes);
      } catch (error) {
        if (!(error instanceof BodyRefusedError)) throw error;
        return sendGraphQLError(res, error.status, 'BAD_USER_INPUT', error.message, { connection: 'close' });
      }
      if (await answerDirectly(req, res, body)) return;
      // Yoga reads a body already on the request instead of the stream.
      (req as IncomingMessage & { body?: Buffer }).body = body;
    }
    await yoga.requestListener(req, res);
  }

  const readiness = readinessProbe(options.checkReady, Math.min(options.requestTimeoutMs, READINESS_TIMEOUT_MS), log);
  async function sendReadiness(res: ServerResponse): Promise<void> {
    if (shuttingDown) return sendJson(res, 503, { status: 'shutting down' });
    // Anyone may ask /readyz: the driver's words (a statement, a host) go to the log, not to them.
    if (await readiness()) sendJson(res, 200, { status: 'ready' });
    else sendJson(res, 503, { status: 'unavailable', reason: 'database unreachable' });
  }

  applyConnectionLimits(server, options.connections, log);
  const { wsServer, graphqlWs } = attachWebSocket(server, yoga, authenticator, limits, log, options.requestTimeoutMs, options.sessions);
  options.metrics.server.webSockets = () => wsServer.clients.size;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${hostPort(options.host, port)}${GRAPHQL_PATH}`,
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
      consul.stop();
    },
  };
}
