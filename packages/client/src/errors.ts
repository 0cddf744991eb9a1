import { SwitchboardError, type ErrorCode } from '@switchboard/contracts';
import type { GraphQLFormattedError } from 'graphql';

/** A GraphQL response that carried errors; `code` is the first error's `extensions.code`. */
export class SwitchboardRequestError extends Error {
  override readonly name = 'SwitchboardRequestError';

  constructor(
    readonly errors: readonly GraphQLFormattedError[],
    readonly status?: number,
  ) {
    super(errors.map((error) => error.message).join('; ') || `HTTP ${status}`);
  }

  /** One of Switchboard's codes (`NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`…), or one GraphQL's own layers use (`GRAPHQL_VALIDATION_FAILED`). */
  get code(): ErrorCode | (string & {}) | undefined {
    return this.errors[0]?.extensions?.['code'] as ErrorCode | undefined;
  }
}

/**
 * The registry could not be reached, or the connection to it was lost: `UNAVAILABLE` (retry), the
 * network's own error kept as `cause`. Every failure the client hands on is then either the server's
 * answer (SwitchboardRequestError) or this, never a bare `TypeError: fetch failed`.
 */
export function unreachable(message: string, cause: unknown, details?: Record<string, unknown>): SwitchboardError {
  const error = new SwitchboardError('UNAVAILABLE', message, details);
  error.cause = cause;
  return error;
}

/**
 * What a subscription's connection ended with, as the caller gets it. A close code from 4000 to 4999 is
 * the server's answer under graphql-ws's protocol (4401 unauthenticated, 4403 forbidden…) and is passed on
 * as is; any other close (1001 going away, 1006 lost, 1013 try again later) or a socket error means the
 * registry could not be reached or went away: UNAVAILABLE, its close code and reason in `details`.
 */
export function connectionFailure(error: unknown): unknown {
  const { code, reason, message } = (error ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
  if (typeof code === 'number' && code >= 4000 && code < 5000) return error;
  if (typeof code === 'number') {
    const why = typeof reason === 'string' && reason !== '' ? ` ${reason}` : '';
    return unreachable(`The registry's WebSocket connection closed (${code}${why}).`, error, { closeCode: code, ...(why ? { reason } : {}) });
  }
  const detail = typeof message === 'string' && message !== '' ? `: ${message}` : '';
  return unreachable(`The registry could not be reached over WebSocket${detail}.`, error);
}
