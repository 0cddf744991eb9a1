import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { startPeriodic, type Periodic } from '../periodic.js';
import {
  expireLapsedServices,
  reapCriticalServices,
  REAP_BATCH,
  sessionFingerprint,
  SWEEP_BATCH,
  type LapsedInstance,
  type ServiceInstance,
} from '../registry/services/index.js';
import type { ConnectedSessions } from './sessions.js';

export interface ExpirySweepOptions {
  intervalMs: number;
  /** This server's name (SWITCHBOARD_NODE_NAME): every removal's log line says who removed it. */
  nodeName: string;
  /** The sessions connected to this server (none on a worker): its sweep leaves their instances alone. */
  sessions?: Pick<ConnectedSessions, 'connectedIds'>;
}

/**
 * The expiry sweep: lapsed leases (TTL and ephemeral) and instances critical for too long.
 * Every removal is logged, one line each, with its reason: a removal is the registry
 * acting on its own, and a live client's instance removed as `connection-lost` must be
 * traceable to the server that removed it and the lease it judged.
 */
export function startExpirySweep(db: Db, log: Logger, options: ExpirySweepOptions): Periodic {
  return startPeriodic('expiry sweep', options.intervalMs, log, async () => {
    const expired = await expireLapsedServices(db, { keepSessions: options.sessions?.connectedIds() ?? [] });
    for (const lapsed of expired) logLapsed(log, options.nodeName, lapsed);
    const reaped = await reapCriticalServices(db);
    for (const instance of reaped) logReaped(log, options.nodeName, instance);
    // A full batch means there may be more: sweep again at once.
    return expired.length === SWEEP_BATCH || reaped.length === REAP_BATCH;
  });
}

function logLapsed(log: Logger, removedBy: string, { instance, reason, sessionId, lastRenewedAt }: LapsedInstance): void {
  log.info(
    {
      instanceId: instance.id,
      service: instance.name,
      reason,
      // A fingerprint: the session id itself is its client's secret.
      ...(sessionId === null ? {} : { session: sessionFingerprint(sessionId) }),
      lastRenewedAt: lastRenewedAt?.toISOString() ?? null,
      leaseEndedAt: instance.expiresAt?.toISOString() ?? null,
      removedBy,
    },
    reason === 'connection-lost'
      ? `removed ephemeral instance ${instance.id}: no server renewed its session within the grace period`
      : `removed instance ${instance.id}: its TTL lapsed without a heartbeat`,
  );
}

function logReaped(log: Logger, removedBy: string, instance: ServiceInstance): void {
  log.info(
    { instanceId: instance.id, service: instance.name, reason: 'critical-too-long', removedBy },
    `removed instance ${instance.id}: a check stayed critical for longer than deregisterCriticalServiceAfter`,
  );
}
