/**
 * Waiting in tests. Wait for the event that proves a condition (a feed event, a metric, a log
 * line, a port), not for a duration: `eventually` polls a check, `withTimeout` bounds a promise.
 * `sleep` is for a test whose subject is time passing with nothing happening ("no event
 * arrives within 500 ms"), and says so where it is used.
 */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value other than undefined; fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs}ms`);
    await sleep(intervalMs);
  }
}

/** `promise`, or a rejection with `message` once `ms` pass first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), Math.max(ms, 0))))]);
  } finally {
    clearTimeout(timer);
  }
}
