/**
 * Errors every layer may raise. The code is the stable contract clients branch on
 * (`extensions.code` over GraphQL); the message is a sentence meant for a human.
 * Nothing here knows about GraphQL: the API layer translates these at its edge.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  /** An event cursor older than what retention kept: resynchronise, then resume. */
  | 'CURSOR_EXPIRED'
  /**
   * The database is unreachable, restarting or overloaded, the request's deadline passed, or the
   * request was abandoned before its write began: retry. `details.outcome` says whether a write
   * may have been applied ("unknown") or certainly was not ("not_applied").
   */
  | 'UNAVAILABLE'
  /** The backend cannot do this at all (registering on Kubernetes, where the platform registers): do not retry. */
  | 'NOT_SUPPORTED'
  | 'INTERNAL';

export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, client-safe facts (the offending field, the current version…). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) => new SwitchboardError('BAD_USER_INPUT', message, details);

export const notFound = (what: string, id: string) => new SwitchboardError('NOT_FOUND', `${what} "${id}" does not exist.`, { id });

export const conflict = (message: string, details?: Record<string, unknown>) => new SwitchboardError('CONFLICT', message, details);

/**
 * What became of a write that failed: `not_applied` (nothing was written; retrying is safe) or
 * `unknown` (the connection was lost while the transaction committed: re-read, or retry with
 * compare-and-set).
 */
export type WriteOutcome = 'not_applied' | 'unknown';

export const notSupported = (message: string) => new SwitchboardError('NOT_SUPPORTED', message);

export const unavailable = (message: string, outcome?: WriteOutcome) => new SwitchboardError('UNAVAILABLE', message, outcome ? { outcome } : undefined);

/** Finds a SwitchboardError anywhere in a chain of wrapped errors. */
export function findSwitchboardError(error: unknown): SwitchboardError | undefined {
  return findInErrorChain(error, (current) => (current instanceof SwitchboardError ? current : undefined));
}

/**
 * The first answer `match` gives for an error in a chain of wrapped errors (GraphQL's
 * `originalError`, else `cause`), outermost first; undefined when none matches.
 */
export function findInErrorChain<T>(error: unknown, match: (current: Error) => T | undefined): T | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    const found = match(current);
    if (found !== undefined) return found;
    seen.add(current);
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return undefined;
}

/** Turns anything thrown into an Error, so callers can log and compare uniformly. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `Non-error thrown: ${String(thrown)}`);
}
