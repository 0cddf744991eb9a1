import { loadConfig } from '../config.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { runMigrations } from '../db/migrate.js';
import { createLogger } from '../logger.js';

export async function migrateCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres({ dataDir: config.dataDir, log });
  try {
    await runMigrations(config.databaseUrl ?? embedded!.url);
    log.info('migrations applied');
  } finally {
    await embedded?.stop();
  }
}
