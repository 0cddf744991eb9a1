import { sql } from 'drizzle-orm';
import type { Config } from '../config.js';
import { connectDatabase } from '../db/client.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.js';
import { runMigrations } from '../db/migrate.js';
import { EventFeed } from '../events/feed.js';
import { startRetentionSweeper } from '../events/retention.js';
import type { Logger } from '../logger.js';
import { startExpirySweeper } from '../registry/services/index.js';
import { startHttpServer } from './http.js';

export interface SwitchboardNode {
  url: string;
  port: number;
  /** Graceful stop, in dependency order; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * One `switchboard serve` process: database (embedded unless DATABASE_URL is
 * set), migrations, the event feed, the expiry sweeper and the HTTP/WebSocket
 * server. Nodes share nothing but the database, so any number can run side by side.
 */
export async function startNode(config: Config, log: Logger): Promise<SwitchboardNode> {
  let embedded: EmbeddedPostgres | undefined;
  if (config.databaseUrl === undefined) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, log: log.child({ component: 'embedded-postgres' }) });
  }
  const databaseUrl = config.databaseUrl ?? embedded!.url;

  const cleanups: (() => Promise<void>)[] = [];
  if (embedded) cleanups.push(() => embedded.stop());
  try {
    await runMigrations(databaseUrl);
    const database = connectDatabase(databaseUrl, { poolSize: config.dbPoolSize, applicationName: `switchboard ${config.nodeName}` });
    cleanups.unshift(() => database.close());

    const feed = new EventFeed(database.db, database.sql, log.child({ component: 'event-feed' }));
    await feed.start();
    cleanups.unshift(() => feed.close());

    const sweeper = startExpirySweeper(database.db, log.child({ component: 'expiry' }), config.expirySweepMs);
    cleanups.unshift(() => sweeper.stop());
    const retention = startRetentionSweeper(
      database.db,
      log.child({ component: 'retention' }),
      { maxAgeMs: config.eventRetentionMs, maxCount: config.eventRetentionCount },
      config.eventPruneIntervalMs,
    );
    cleanups.unshift(() => retention.stop());

    const http = await startHttpServer({
      host: config.host,
      port: config.port,
      adminToken: config.adminToken,
      maxBodyBytes: config.maxBodyBytes,
      context: { db: database.db, feed, settings: { config: { historyLimit: config.configHistoryLimit } } },
      log: log.child({ component: 'http' }),
      checkReady: async () => {
        await database.db.execute(sql`select 1`);
      },
    });

    let stopping: Promise<void> | undefined;
    const stop = async () => {
      log.info('shutting down: refusing new connections, finishing in-flight requests');
      const draining = http.close(config.shutdownTimeoutMs);
      // Ending the feed completes every subscription, so streaming responses can finish.
      await feed.close();
      await draining;
      await runAll(cleanups, log);
      log.info('shutdown complete');
    };
    return {
      url: http.url,
      port: http.port,
      stop: () => (stopping ??= stop()),
    };
  } catch (error) {
    await runAll(cleanups, log);
    throw error;
  }
}

async function runAll(cleanups: (() => Promise<void>)[], log: Logger): Promise<void> {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      log.warn({ err: error }, 'cleanup step failed');
    }
  }
}
