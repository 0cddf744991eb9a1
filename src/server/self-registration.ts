import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { SwitchboardError, toError, type HealthCheckInput } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { startPeriodic } from '../periodic.js';
import type { CheckPolicy } from '../registry/health/index.js';
import { SELF_SERVICE } from '../registry/self/index.js';
import { heartbeat, registerService, unregisterService } from '../registry/services/index.js';
import { hostPort } from '../net.js';
import { SYSTEM_PRINCIPAL } from '../registry/access/index.js';

/** How often the HTTP self-check runs; a TTL self-check is renewed three times per TTL. */
const CHECK_INTERVAL_MS = 5_000;
const TTL_MS = 30_000;
/** A crashed process's entry goes critical at once (HTTP) or after the TTL, and is removed this long after. */
const DEREGISTER_AFTER_MS = 60_000;

export interface SelfRegistrationOptions {
  role: 'serve' | 'worker';
  /** The address the process listens on (HOST); for a worker, undefined. */
  listenHost?: string | undefined;
  /** The port the process listens on (serve only). */
  port?: number | undefined;
  nodeName: string;
  checkPolicy: CheckPolicy;
  /** How often a server's HTTP self-check runs (default CHECK_INTERVAL_MS). */
  checkIntervalMs?: number | undefined;
}

export interface SelfRegistration {
  id: string;
  /** Deregisters (graceful stop). */
  stop(): Promise<void>;
}

/**
 * Registers this process in its own catalog, so clients discover the registry's servers like
 * any service and the dashboard shows them: a server as `switchboard` with an HTTP check on its
 * own /readyz, a worker as `switchboard-worker` with a TTL check this process renews. The id is
 * unique per process (name-host-port for a server, name-host-pid for a worker). Graceful stop
 * deregisters; a crashed process goes critical and is removed by deregisterCriticalServiceAfter.
 *
 * Health checks may be limited to some networks (SWITCHBOARD_HEALTH_ALLOWED_NETWORKS). When
 * the server's own address is outside them, its check is a TTL check renewed by the server
 * instead of an HTTP probe the policy would refuse.
 */
export async function startSelfRegistration(db: Db, log: Logger, options: SelfRegistrationOptions): Promise<SelfRegistration> {
  const host = safeHostName();
  const name = SELF_SERVICE[options.role];
  const id = options.role === 'serve' ? `${name}-${host}-${options.port}` : `${name}-${host}-${process.pid}`;
  const address = advertisedAddress(options.listenHost);
  const probeHost = isWildcard(options.listenHost) ? '127.0.0.1' : (options.listenHost ?? '127.0.0.1');
  const probeAllowed = options.role === 'serve' && options.checkPolicy.targets.allows(probeHost === 'localhost' ? '127.0.0.1' : probeHost);
  if (options.role === 'serve' && !probeAllowed) {
    log.info({ id, address: probeHost }, 'self-registration: own address outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS; using a TTL check this server renews');
  }
  const check: HealthCheckInput = probeAllowed
    ? {
        id: `${id}-readyz`,
        name: 'readyz',
        http: `http://${hostPort(probeHost, options.port ?? null)}/readyz`,
        intervalMs: options.checkIntervalMs ?? CHECK_INTERVAL_MS,
        timeoutMs: 2_000,
        deregisterCriticalAfterMs: DEREGISTER_AFTER_MS,
      }
    : { id: `${id}-alive`, name: 'alive', ttlMs: TTL_MS, deregisterCriticalAfterMs: DEREGISTER_AFTER_MS };

  const register = async () => {
    await registerService(
      db,
      {
        id,
        name,
        version: PACKAGE_VERSION,
        address,
        port: options.port ?? null,
        tags: [options.role],
        metadata: { role: options.role, node: options.nodeName.slice(0, 512), host: host.slice(0, 512), pid: String(process.pid) },
        healthChecks: [check],
        replaceExistingChecks: true,
      },
      options.checkPolicy,
      SYSTEM_PRINCIPAL,
    );
    // A TTL check starts critical: pass it now rather than a renewal later.
    if (check.ttlMs != null) await heartbeat(db, id, SYSTEM_PRINCIPAL);
  };
  await register();
  log.info({ id, service: name }, 'registered in its own catalog');

  // A TTL check is renewed from this process's timers: if the process hangs or dies, it lapses.
  const renewal =
    check.ttlMs == null
      ? undefined
      : startPeriodic('self-registration renewal', TTL_MS / 3, log, async () => {
          try {
            await heartbeat(db, id, SYSTEM_PRINCIPAL);
          } catch (error) {
            // Removed meanwhile (reaped after an outage, or by an operator): register again.
            if (error instanceof SwitchboardError && error.code === 'NOT_FOUND') await register();
            else throw error;
          }
          return false;
        });

  return {
    id,
    async stop() {
      await renewal?.stop();
      try {
        await unregisterService(db, id, SYSTEM_PRINCIPAL);
      } catch (error) {
        if (!(error instanceof SwitchboardError && error.code === 'NOT_FOUND'))
          log.warn({ err: toError(error), id }, 'could not deregister from its own catalog');
      }
    },
  };
}

const PACKAGE_VERSION = readPackageVersion();

function readPackageVersion(): string | null {
  try {
    // src/server and dist/server both sit two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

/** The host name as an instance id may hold it. */
function safeHostName(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '-')
      .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
      .slice(0, 64) || 'host'
  );
}

function isWildcard(host: string | undefined): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Where others reach this process: the address it listens on, or for a wildcard, its first external IPv4 address. */
function advertisedAddress(listenHost: string | undefined): string {
  if (listenHost !== undefined && !isWildcard(listenHost)) return listenHost === 'localhost' ? '127.0.0.1' : listenHost;
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return '127.0.0.1';
}
