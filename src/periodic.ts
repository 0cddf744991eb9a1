import { toError } from '@switchboard/contracts';
import type { Logger } from './logger.js';

export interface Periodic {
  /** Stops the schedule and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `task` every `intervalMs`, never overlapping itself. A task that returns
 * true has more to do and runs again at once (a sweep that filled its batch).
 * Failures are logged and retried at the next interval.
 */
export function startPeriodic(name: string, intervalMs: number, log: Logger, task: () => Promise<boolean>): Periodic {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const run = async () => {
    try {
      while (!stopped && (await task()));
    } catch (error) {
      log.warn({ err: toError(error), task: name }, `${name} failed; retrying at the next interval`);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().finally(schedule);
    }, intervalMs);
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
