import type { ErrorCode } from '@switchboard/contracts';
import { toDomainError } from '../db/handle.js';

/** An answer other than success, in Consul's style: a status and a plain-text sentence. */
export class ConsulError extends Error {
  override readonly name = 'ConsulError';

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The domain's error codes as Consul's HTTP statuses. */
const STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAUTHENTICATED: 403,
  FORBIDDEN: 403,
  CURSOR_EXPIRED: 400,
  UNAVAILABLE: 503,
  NOT_SUPPORTED: 501,
  INTERNAL: 500,
};

/**
 * Any error as the answer a Consul client gets. Domain errors keep their message
 * (they are written for the client); a lost database is 503 with Retry-After;
 * anything else is a bug: 500 "Unexpected error.", details for the log only.
 */
export function toConsulError(error: unknown): ConsulError {
  if (error instanceof ConsulError) return error;
  const domain = toDomainError(error);
  if (!domain || domain.code === 'INTERNAL') return new ConsulError(500, 'Unexpected error.');
  const prefix = domain.code === 'FORBIDDEN' || domain.code === 'UNAUTHENTICATED' ? 'Permission denied: ' : '';
  return new ConsulError(STATUS[domain.code], `${prefix}${domain.message}`, domain.code === 'UNAVAILABLE' ? { 'retry-after': '1' } : {});
}

/** Errors worth an error line in the log (the others are the client's doing). */
export function isServerFault(error: ConsulError): boolean {
  return error.status === 500;
}
