import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toError } from '@switchboard/contracts';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { hostPort } from '../net.js';
import { hasScope, type Principal } from '../registry/access/index.js';
import { sendTokenUnchecked } from './auth.js';
import { withinDeadline } from '../http/deadline.js';
import { sendGraphQLError, sendJson } from './responses.js';

export const METRICS_PATH = '/metrics';

export interface MetricsEndpoint {
  registry: Registry;
  /**
   * The same check as every other route: the admin token, or an API token with the READ scope; always a
   * principal when the server runs open. While the database is away, a token verified within
   * SWITCHBOARD_TOKEN_OUTAGE_GRACE still passes: that is when `switchboard_database_up 0` must be scraped.
   */
  authenticate: (credential: string | undefined) => Promise<Principal | undefined>;
  /** How long the token lookup may take. */
  timeoutMs: number;
  log: Logger;
}

/**
 * GET /metrics: the node's registry in the Prometheus text format. Prometheus sends
 * the token through its `authorization` scrape setting (`Authorization: Bearer …`).
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, endpoint: MetricsEndpoint): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendGraphQLError(res, 405, 'BAD_USER_INPUT', `${METRICS_PATH} answers GET only.`, { allow: 'GET, HEAD' });
  }
  let principal: Principal | undefined;
  try {
    principal = await withinDeadline(endpoint.authenticate(req.headers.authorization), endpoint.timeoutMs);
  } catch (error) {
    endpoint.log.warn({ err: toError(error) }, 'could not check a metrics token: the database is unreachable');
    return sendTokenUnchecked(res);
  }
  if (!principal) {
    return sendGraphQLError(
      res,
      401,
      'UNAUTHENTICATED',
      `${METRICS_PATH} needs a token: send "Authorization: Bearer <token>" with the admin token or an API token with the READ scope.`,
      { 'www-authenticate': 'Bearer' },
    );
  }
  if (!hasScope(principal, 'READ')) {
    return sendGraphQLError(res, 403, 'FORBIDDEN', `Token "${principal.name}" lacks the READ scope ${METRICS_PATH} needs.`);
  }
  const body = await endpoint.registry.metrics();
  res.writeHead(200, { 'content-type': endpoint.registry.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * A small HTTP server with only /metrics and /healthz (SWITCHBOARD_METRICS_PORT): how a
 * worker, which serves no API, is scraped; a serving node may open one too, to keep
 * scrapes on a port of their own.
 */
export async function startMetricsServer(host: string, port: number, endpoint: MetricsEndpoint): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    let handled: Promise<void> | void;
    if (path === METRICS_PATH) handled = serveMetrics(req, res, endpoint);
    else if (path === '/healthz') handled = sendJson(res, 200, { status: 'ok' });
    else handled = sendJson(res, 404, { error: `Nothing here. Metrics live at ${METRICS_PATH}.` });
    void Promise.resolve(handled).catch((error: unknown) => {
      endpoint.log.error({ err: toError(error) }, 'metrics request failed');
      if (res.headersSent) res.destroy();
      else sendGraphQLError(res, 500, 'INTERNAL', 'Unexpected error.');
    });
  });
  // Scrapes are short: an idle keep-alive connection must not hold the process open at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://${hostPort(host, bound)}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
