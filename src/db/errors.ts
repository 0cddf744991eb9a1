import { conflict, findInErrorChain, findSwitchboardError, unavailable, type SwitchboardError, type WriteOutcome } from '@switchboard/contracts';

/**
 * What the database (or the driver) says, turned into answers at the db boundary.
 *
 * The trap: Drizzle wraps every driver error in a DrizzleQueryError whose message holds the SQL
 * and its parameters. The SQLSTATE is on the wrapped `.cause`; the wrapper's message must never
 * reach a client, and nothing the database says should become INTERNAL.
 */

/** SQLSTATEs we branch on (PostgreSQL, Appendix A). */
export const SqlState = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  EXCLUSION_VIOLATION: '23P01',
  SERIALIZATION_FAILURE: '40001',
  DEADLOCK_DETECTED: '40P01',
  /** Class 08: connection exceptions (08000, 08003, 08006, 08001, 08004, …). */
  CONNECTION_EXCEPTION_CLASS: '08',
  ADMIN_SHUTDOWN: '57P01',
  CRASH_SHUTDOWN: '57P02',
  CANNOT_CONNECT_NOW: '57P03',
  TOO_MANY_CONNECTIONS: '53300',
  /** A statement cancelled: a cancel request, or statement_timeout. */
  QUERY_CANCELED: '57014',
  /** lock_timeout passed while the statement waited for a lock. */
  LOCK_NOT_AVAILABLE: '55P03',
} as const;

/** Transactions aborted by the database for another's sake: retrying the whole transaction is safe. */
export const RETRYABLE_TRANSACTION_CODES: ReadonlySet<string> = new Set([SqlState.SERIALIZATION_FAILURE, SqlState.DEADLOCK_DETECTED]);

/** The server went away, is restarting, or will not take the connection. */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  SqlState.ADMIN_SHUTDOWN,
  SqlState.CRASH_SHUTDOWN,
  SqlState.CANNOT_CONNECT_NOW,
  SqlState.TOO_MANY_CONNECTIONS,
]);

/** postgres.js's own connection errors, and the socket errors it passes through. */
const DRIVER_CONNECTION_CODES: ReadonlySet<string> = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** The code of the driver error under any wrappers (Drizzle's `.cause`, GraphQL's `originalError`), or undefined. */
export function databaseErrorCode(error: unknown): string | undefined {
  return driverError(error)?.code;
}

const isSqlState = (code: string) => /^[0-9A-Z]{5}$/.test(code);

/** A deadlock or serialization failure: the transaction was rolled back and may simply run again. */
export function isRetryableTransactionError(error: unknown): boolean {
  const code = databaseErrorCode(error);
  return code !== undefined && RETRYABLE_TRANSACTION_CODES.has(code);
}

/** The database cannot be reached (lost connection, restart, shutdown, refusing connections). */
export function isConnectionError(error: unknown): boolean {
  const code = databaseErrorCode(error);
  return code !== undefined && isConnectionCode(code);
}

const isConnectionCode = (code: string) =>
  DRIVER_CONNECTION_CODES.has(code) || UNAVAILABLE_CODES.has(code) || code.startsWith(SqlState.CONNECTION_EXCEPTION_CLASS);

/** Fields postgres.js puts on a PostgresError (only the ones safe to name to a client). */
interface PostgresErrorFields {
  code: string;
  table_name?: string;
  constraint_name?: string;
}

function driverError(error: unknown): PostgresErrorFields | undefined {
  return findInErrorChain(error, (current) => {
    const code = (current as { code?: unknown }).code;
    return typeof code === 'string' && (isSqlState(code) || DRIVER_CONNECTION_CODES.has(code)) ? (current as unknown as PostgresErrorFields) : undefined;
  });
}

/** What a unique violation means, per constraint: the sentence a client reads. */
const UNIQUE_SENTENCES: Record<string, string> = {
  services_pkey: 'An instance with this id was registered at the same moment by another request',
  health_checks_pkey: 'A health check with this id was registered at the same moment by another request',
  components_pkey: 'A component with this id was registered at the same moment by another request',
  config_entries_key_environment_pk: 'This configuration key was written at the same moment by another request',
  config_history_key_environment_version_pk: 'This configuration key was written at the same moment by another request',
  tokens_secret_hash_unique: 'A token with this secret already exists',
  alert_rules_name_idx: 'An alert rule with this name already exists',
};

/**
 * The answer for a database error, or undefined when it is not one we can name (a bug: INTERNAL).
 * `outcome` is what the caller knows of a write's fate; a caller outside a transaction passes none.
 */
export function toDomainError(error: unknown, outcome?: WriteOutcome): SwitchboardError | undefined {
  const known = findSwitchboardError(error);
  if (known) return known;
  const facts = driverError(error);
  if (facts === undefined) return undefined;
  const { code } = facts;
  const details = outcome ? { outcome } : {};
  if (isConnectionCode(code)) {
    return unavailable(
      outcome === 'unknown'
        ? 'The connection to the database was lost while the write was committing; it may or may not have been applied. Read it back, or retry with expectedVersion.'
        : 'The database is unavailable (unreachable, restarting or out of connections); retry shortly.',
      outcome,
    );
  }
  if (code === SqlState.UNIQUE_VIOLATION) {
    const sentence = UNIQUE_SENTENCES[facts.constraint_name ?? ''] ?? `The write collides with an existing ${facts.table_name ?? 'row'}`;
    return conflict(`${sentence}; nothing was written. Read the current state and retry.`, { ...details, constraint: facts.constraint_name });
  }
  if (code === SqlState.FOREIGN_KEY_VIOLATION) {
    return conflict('The write refers to something removed at the same moment (an instance deregistered, say); nothing was written.', {
      ...details,
      constraint: facts.constraint_name,
    });
  }
  if (code.startsWith('23')) {
    return conflict('The write breaks a rule of the stored data; nothing was written.', { ...details, constraint: facts.constraint_name });
  }
  if (code === SqlState.QUERY_CANCELED || code === SqlState.LOCK_NOT_AVAILABLE) {
    // Only before COMMIT (a cancel cannot reach a COMMIT's work): the transaction was rolled back.
    return unavailable('The database gave up on the statement (it was cancelled, or waited too long for a lock); retry.', outcome);
  }
  if (RETRYABLE_TRANSACTION_CODES.has(code)) {
    return unavailable('The database kept aborting this write for concurrent ones (deadlock or serialization failure); nothing was written. Retry.', outcome);
  }
  return undefined;
}
