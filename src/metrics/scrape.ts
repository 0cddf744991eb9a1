import { toError } from '@switchboard/contracts';
import type { Logger } from '../logger.js';

/** How long a scrape waits for the database before reporting it down: well inside Prometheus's default 10 s scrape timeout. */
const READ_TIMEOUT_MS = 2_000;

/**
 * The database reads of a node's gauges. prom-client collects every metric of a scrape
 * at once, so gauges reading the same facts share one read while it runs, and the
 * next scrape reads afresh. A read that fails or does not answer in time gives
 * undefined (its gauges keep their last values, and `up` says the database is down):
 * metrics must still answer when the registry is in trouble.
 */
export class ScrapeReads {
  private readonly reads: (() => Promise<unknown>)[] = [];

  constructor(private readonly log: Logger) {}

  /** A read shared by the gauges of one scrape. */
  add<T>(read: () => Promise<T>): () => Promise<T | undefined> {
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
        if (!failing) this.log.warn({ err: toError(error) }, 'metrics could not read the database; its gauges keep their last values');
        failing = true;
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    };
    const shared = () => (running ??= attempt().finally(() => (running = undefined)));
    this.reads.push(shared);
    return shared;
  }

  /** Whether every read of this scrape answered in time. */
  async up(): Promise<boolean> {
    const results = await Promise.all(this.reads.map((read) => read()));
    return results.every((result) => result !== undefined);
  }
}
