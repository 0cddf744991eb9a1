import { loadSettings } from '../settings.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { runMigrations } from '../db/migrate.js';
import { createLogger } from '../logger.js';

export async function migrateCommand(): Promise<void> {
  const settings = loadSettings();
  const log = createLogger(settings.logLevel);
  const embedded = settings.databaseUrl ? undefined : await startEmbeddedPostgres({ dataDir: settings.dataDir, log });
  try {
    await runMigrations(settings.databaseUrl ?? embedded!.url);
    log.info('migrations applied');
  } finally {
    await embedded?.stop();
  }
}
