/** The longest delay setTimeout honours: 2^31−1 ms, about 24.8 days. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Calls `onDue` once the wall clock reaches `deadline`, however far away it is
 * (always asynchronously, even for a deadline already past); returns a function
 * that cancels the wait.
 *
 * Trap avoided: setTimeout holds at most 2^31−1 ms. A longer delay is not
 * honoured (Node fires it after 1 ms; clamping it to the maximum instead fires
 * 24.8 days in, which closed ten-year tokens' connections as "expired"). So a
 * long wait sleeps in steps of at most MAX_TIMEOUT_MS and re-arms, re-reading the
 * clock at each step.
 */
export function callAt(deadline: Date, onDue: () => void): () => void {
  if (Number.isNaN(deadline.getTime())) throw new RangeError('callAt needs a valid deadline.');
  let timer: NodeJS.Timeout;
  const arm = () => {
    const remaining = deadline.getTime() - Date.now();
    timer = setTimeout(() => (Date.now() >= deadline.getTime() ? onDue() : arm()), Math.max(0, Math.min(remaining, MAX_TIMEOUT_MS)));
    // A pending deadline alone never keeps the process alive.
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
