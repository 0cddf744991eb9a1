import type { IncomingMessage } from 'node:http';
import { hostPort } from '../../net.js';
import type { RouteModule } from '../api.js';

/** The address the client reached: a registry needs no election, so every server is its own leader. */
function serverAddress(req: IncomingMessage): string {
  return hostPort(req.socket.localAddress ?? '127.0.0.1', req.socket.localPort ?? 0);
}

/** /v1/status: clients ask it to see that the cluster has a leader. */
export const statusRoutes: RouteModule = () => [
  { method: 'GET', pattern: '/v1/status/leader', scope: 'READ', handle: ({ req }) => ({ body: serverAddress(req) }) },
  { method: 'GET', pattern: '/v1/status/peers', scope: 'READ', handle: ({ req }) => ({ body: [serverAddress(req)] }) },
];
