import { ExponentialBackoff, handleWhen, retry, wrap } from 'cockatiel';
import { unavailable, type WriteOutcome } from '@switchboard/contracts';
import type { Db, Tx } from './client.js';
import { currentSignal } from './deadline.js';
import { isConnectionError, isRetryableTransactionError, toDomainError } from './errors.js';

export interface TransactionOptions {
  isolationLevel?: 'read committed' | 'repeatable read' | 'serializable';
  /** Attempts in all when the database aborts the transaction for a deadlock or serialization failure. */
  maxAttempts?: number;
}

/** Where an attempt was when it failed: what decides whether anything may have been committed. */
type Phase = 'connecting' | 'running' | 'committing';

/** One attempt's failure and the phase it failed in (the retry policies decide on both). */
class AttemptFailed extends Error {
  constructor(
    readonly error: unknown,
    readonly phase: Phase,
  ) {
    super('transaction attempt failed', { cause: error });
  }
}

const DEFAULT_MAX_ATTEMPTS = 6;

/** Brief: a database restarting comes back in seconds or not soon; either way the caller learns quickly. */
const connectionRetry = retry(
  handleWhen((error) => error instanceof AttemptFailed && error.phase === 'connecting' && isConnectionError(error.error)),
  { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) },
);

function contentionRetry(maxAttempts: number) {
  // Jittered (cockatiel's default decorrelated jitter), so two victims of one deadlock do not collide again in step.
  return retry(
    handleWhen((error) => error instanceof AttemptFailed && isRetryableTransactionError(error.error)),
    { maxAttempts: maxAttempts - 1, backoff: new ExponentialBackoff({ initialDelay: 5, maxDelay: 250 }) },
  );
}

/**
 * Runs `fn` in a transaction: every domain write goes through here instead of `db.transaction`.
 *
 * - Deadlocks and serialization failures (40P01, 40001) roll the transaction back, so it runs again
 *   with jittered exponential backoff, a bounded number of times.
 * - A connection lost before the transaction began is retried briefly; one lost later is not
 *   (only a transaction known not to have committed runs again).
 * - Database errors become answers (CONFLICT, UNAVAILABLE) with `outcome`: `not_applied`, or
 *   `unknown` when the connection was lost while committing.
 * - A request abandoned by its client (see deadline.ts) is refused once the connection is held,
 *   before any statement of the write: a write nobody waits for must not land late, after newer ones.
 */
export async function runTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const signal = currentSignal();
  const config = options.isolationLevel ? { isolationLevel: options.isolationLevel } : undefined;
  const policy = wrap(connectionRetry, contentionRetry(options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS));
  try {
    return await policy.execute(async () => {
      if (signal?.aborted) throw abandoned();
      let phase: Phase = 'connecting';
      try {
        return await db.transaction(async (tx) => {
          phase = 'running';
          // Checked again here: waiting for a pooled connection is where an abandoned request spends its time.
          if (signal?.aborted) throw abandoned();
          const result = await fn(tx);
          phase = 'committing';
          return result;
        }, config);
      } catch (error) {
        throw new AttemptFailed(error, phase);
      }
    });
  } catch (error) {
    if (!(error instanceof AttemptFailed)) throw error;
    throw toDomainError(error.error, outcomeOf(error)) ?? error.error;
  }
}

/** What is known of the write: only a connection lost during COMMIT leaves it in doubt. */
function outcomeOf(failure: AttemptFailed): WriteOutcome {
  return failure.phase === 'committing' && isConnectionError(failure.error) ? 'unknown' : 'not_applied';
}

export const abandoned = () =>
  unavailable('The request was abandoned (its client went away or its deadline passed) before its write began; nothing was written.', 'not_applied');
