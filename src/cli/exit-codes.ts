import { findSwitchboardError } from '@switchboard/contracts';
import { SwitchboardRequestError } from '@switchboard/client';

/**
 * What `switchboard` exits with, so a script can branch without parsing output (docs/cli.md lists them).
 * 2 is every usage error: a missing argument, an unknown option, an input the server refused as bad.
 */
export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  CONFLICT: 4,
  UNAVAILABLE: 5,
  /** No token, a token the server does not know, or a token without the scope or prefix. */
  DENIED: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The error code (Switchboard's `extensions.code`) a failure carries, if any. */
export function errorCodeOf(error: unknown): string | undefined {
  if (error instanceof SwitchboardRequestError) return error.code;
  return findSwitchboardError(error)?.code;
}

/**
 * What became of a write the server could not finish (`extensions.outcome` of an UNAVAILABLE): "not_applied"
 * (nothing was written; retrying is safe) or "unknown" (it may have been; read it back first).
 */
export function outcomeOf(error: unknown): string | undefined {
  const outcome = error instanceof SwitchboardRequestError ? error.errors[0]?.extensions?.['outcome'] : findSwitchboardError(error)?.details?.['outcome'];
  return typeof outcome === 'string' ? outcome : undefined;
}

export function exitCodeFor(error: unknown): ExitCode {
  switch (errorCodeOf(error)) {
    case 'NOT_FOUND':
      return ExitCode.NOT_FOUND;
    case 'CONFLICT':
      return ExitCode.CONFLICT;
    case 'UNAVAILABLE':
      return ExitCode.UNAVAILABLE;
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
      return ExitCode.DENIED;
    case 'BAD_USER_INPUT':
    case 'GRAPHQL_VALIDATION_FAILED':
      return ExitCode.USAGE;
    default:
      return ExitCode.FAILED;
  }
}

/** A mistake in how the command was called, found before anything was sent: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A command that ran and found a problem it reports itself (`check` finding a cycle): exits with `code`, no stack. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
  constructor(
    message: string,
    readonly code: ExitCode = ExitCode.FAILED,
  ) {
    super(message);
  }
}
