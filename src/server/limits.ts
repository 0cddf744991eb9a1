import type { Server } from 'node:http';
import type { ConnectionLimits } from '../settings.js';
import type { Logger } from '../logger.js';

/**
 * Bounds what a client can hold open. Node's defaults let a request's body trickle
 * in for 300 s and accept connections without limit, so a few slow clients could
 * pin sockets and memory indefinitely. A request whose headers or whole body do
 * not arrive in time is answered 408 and its connection closed; connections over
 * the cap (HTTP and WebSocket alike: an upgraded socket still counts) are dropped
 * on accept, while the ones already open keep being served.
 */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits, log: Logger): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.bodyTimeoutMs;
  server.maxConnections = limits.maxConnections;
  let dropped = 0;
  let lastWarning = 0;
  server.on('drop', () => {
    dropped += 1;
    // One line per ten seconds at most: a flood of refused connections must not flood the log.
    if (Date.now() - lastWarning < 10_000) return;
    log.warn({ dropped, maxConnections: limits.maxConnections }, 'connection limit reached; refusing new connections');
    lastWarning = Date.now();
    dropped = 0;
  });
}

/**
 * How often Node checks requests against the timeouts above (its default, 30 s,
 * would let a trickling body outlive a short timeout by that much).
 */
export function connectionsCheckingInterval(limits: ConnectionLimits): number {
  return Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4)));
}
