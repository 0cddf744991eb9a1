import { toError } from '@switchboard/contracts';
import { SettingsError, isLoopback, loadSettings } from '../settings.js';
import { isConnectionError } from '../db/errors.js';
import { createLogger } from '../logger.js';
import { startNode, type NodeRole } from '../server/node.js';

export const serveCommand = () => run('serve');
export const workerCommand = () => run('worker');

/** Starts a node in the given role and stops it gracefully on SIGTERM/SIGINT (exit 0). */
async function run(role: NodeRole): Promise<void> {
  let settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`switchboard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(settings.logLevel, { node: settings.nodeName, role });
  if (role === 'serve' && !settings.adminToken) {
    log.warn(
      isLoopback(settings.host)
        ? 'NO AUTHENTICATION: SWITCHBOARD_ADMIN_TOKEN is not set, so anyone on this machine can change the registry. Fine for local development only.'
        : `NO AUTHENTICATION on ${settings.host}: SWITCHBOARD_ALLOW_INSECURE is set and SWITCHBOARD_ADMIN_TOKEN is not; anyone who reaches the port can change the registry.`,
    );
  }

  // While PostgreSQL restarts, the driver can leave a failed connection's promise unhandled (seen under
  // load: CONNECTION_CLOSED, ECONNREFUSED): an outage the node already reports (readiness 503,
  // UNAVAILABLE) and recovers from, not a reason to exit. Anything else unhandled still ends the process.
  process.on('unhandledRejection', (reason) => {
    if (isConnectionError(reason)) return log.warn({ err: toError(reason) }, 'the database driver left a connection failure unhandled; carrying on');
    log.fatal({ err: toError(reason) }, 'unhandled promise rejection');
    process.exit(1);
  });

  let node;
  try {
    node = await startNode(settings, log, role);
  } catch (error) {
    log.fatal({ err: toError(error) }, 'could not start');
    process.exit(1);
  }
  if (node.url) {
    log.info({ url: node.url, port: node.port, embedded: settings.databaseUrl === undefined }, `listening on ${node.url} (GraphiQL in a browser)`);
  } else {
    log.info({ concurrency: settings.healthConcurrency, scripts: settings.scriptChecksEnabled, worker: node.worker?.id }, 'health-check worker running');
  }

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    log.info({ signal }, 'signal received');
    // Whatever a step waits for (a database that is away, a connection that will not close), the
    // process exits within its shutdown timeout: a supervisor's SIGTERM is never ignored.
    setTimeout(() => {
      log.error({ timeoutMs: settings.shutdownTimeoutMs }, 'shutdown did not finish within SWITCHBOARD_SHUTDOWN_TIMEOUT; exiting now');
      process.exit(1);
    }, settings.shutdownTimeoutMs).unref();
    node.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: toError(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
