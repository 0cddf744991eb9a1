import { ExponentialBackoff, fullJitterGenerator, handleAll, handleWhen, noJitterGenerator, retry, type RetryPolicy } from 'cockatiel';
import type { RetryBudget } from './retry-budget.js';

export interface CallRetryOptions {
  /** Retries after the first attempt; default 2. */
  maxRetries?: number;
  /** Cap of the first backoff; each next one doubles it (full jitter: a random wait up to the cap). Default 25ms. */
  initialDelayMs?: number;
  /** Largest backoff cap; default 1s. */
  maxDelayMs?: number;
}

/**
 * Retries a call with exponential backoff and full jitter (AWS's "Exponential Backoff and Jitter"), only while
 * `retryable` says the error may be retried and the budget has a retry left.
 */
export function callRetryPolicy(options: CallRetryOptions, budget: RetryBudget, retryable: (error: Error) => boolean): RetryPolicy {
  // The budget is asked last and only when a retry would follow: cockatiel also tests the final attempt's
  // error, which must not spend a retry. `canRetry` then `spend` in onRetry run with no await between.
  const policy = retry(
    handleWhen((error) => retryable(error) && budget.canRetry()),
    {
      maxAttempts: options.maxRetries ?? 2,
      backoff: new ExponentialBackoff({ generator: fullJitterGenerator, initialDelay: options.initialDelayMs ?? 25, maxDelay: options.maxDelayMs ?? 1000 }),
    },
  );
  policy.onRetry(() => budget.spend());
  return policy;
}

/** The seed's registration retry: 3 attempts, waiting 1s then 2s (doubling) between them. */
export function registrationRetryPolicy(options: { attempts?: number; initialDelayMs?: number } = {}): RetryPolicy {
  return retry(handleAll, {
    maxAttempts: (options.attempts ?? 3) - 1,
    backoff: new ExponentialBackoff({ generator: noJitterGenerator, initialDelay: options.initialDelayMs ?? 1000 }),
  });
}
