import { ExponentialBackoff, handleWhen, retry, wrap } from 'cockatiel';
import type { WriteOutcome } from '@switchboard/contracts';
import { currentSignal, noteWriteInDoubt } from '../request-signal.js';
import { abandoned, StatementTracker, withStatementTracker } from './cancellation.js';
import type { Db, Tx } from './client.js';
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
 * - A request abandoned (its client left, its deadline passed: see src/request-signal.ts) is refused before
 *   its transaction begins, once the connection is held, and before COMMIT; the statements it is
 *   waiting on (a lock) are cancelled in the database (cancellation.ts). So a write nobody waits for
 *   never lands late, after newer ones, and only a COMMIT already sent leaves its outcome in doubt.
 */
export async function runTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const signal = currentSignal();
  const config = options.isolationLevel ? { isolationLevel: options.isolationLevel } : undefined;
  const policy = wrap(connectionRetry, contentionRetry(options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS));
  try {
    return await policy.execute(async () => {
      if (signal?.aborted) throw abandoned();
      let phase = 'connecting' as Phase;
      const statements = new StatementTracker();
      // A COMMIT already sent cannot be called back; anything before it can.
      const cancel = () => phase !== 'committing' && statements.cancel();
      signal?.addEventListener('abort', cancel);
      try {
        return await withStatementTracker(statements, () =>
          db.transaction(async (tx) => {
            phase = 'running';
            // Checked again here: waiting for a pooled connection is where an abandoned request spends its time.
            if (signal?.aborted) throw abandoned();
            const result = await fn(tx);
            // And once more, in the same tick as the phase changes: a request answered "not applied"
            // at its deadline (src/http/deadline.ts reads the phase through noteWriteInDoubt) never commits.
            if (signal?.aborted) throw abandoned();
            phase = 'committing';
            noteWriteInDoubt(signal);
            return result;
          }, config),
        );
      } catch (error) {
        // A statement cancelled for the abort fails with 57014: the request's own answer says why.
        throw new AttemptFailed(signal?.aborted && phase !== 'committing' ? abandoned() : error, phase);
      } finally {
        signal?.removeEventListener('abort', cancel);
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

export { abandoned } from './cancellation.js';
