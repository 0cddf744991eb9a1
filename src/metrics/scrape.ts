import { toError } from '@switchboard/contracts';
import type { Logger } from '../logger.js';

/** How long a scrape waits for the database before reporting it down: well inside Prometheus's default 10 s scrape timeout. */
const READ_TIMEOUT_MS = 2_000;

/**
 * Reads facts for the gauges of one scrape. prom-client collects every metric of a
 * scrape at once, so gauges reading the same facts share one read while it runs,
 * and the next scrape reads afresh. A database that fails or does not answer in time
 * gives undefined (the gauges keep their last values; `switchboard_database_up` says
 * why): metrics must still answer when the registry is in trouble.
 */
export function perScrape<T>(read: () => Promise<T>, log: Logger): () => Promise<T | undefined> {
  let running: Promise<T | undefined> | undefined;
  let failing = false;
  const attempt = async (): Promise<T | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the database within ${READ_TIMEOUT_MS / 1000}s`)), READ_TIMEOUT_MS);
    });
    try {
      const facts = await Promise.race([read(), timeout]);
      failing = false;
      return facts;
    } catch (error) {
      if (!failing) log.warn({ err: toError(error) }, 'metrics could not read the database; its gauges keep their last values');
      failing = true;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
  return () => (running ??= attempt().finally(() => (running = undefined)));
}
