import { SwitchboardRequestError } from '@switchboard/client';
import { SwitchboardError, type ErrorCode } from '@switchboard/contracts';

/**
 * The server's answer as the error every backend throws: its code, message and details (for bad input,
 * `issues`) unchanged, the request error kept as `cause`. Anything else (the server unreachable) passes as is.
 */
export function toRegistryError(error: unknown): unknown {
  if (!(error instanceof SwitchboardRequestError)) return error;
  const first = error.errors[0];
  const { code, ...details } = (first?.extensions ?? {}) as Record<string, unknown>;
  const converted = new SwitchboardError((typeof code === 'string' ? code : 'INTERNAL') as ErrorCode, first?.message ?? error.message, details);
  converted.cause = error;
  return converted;
}

/** Worth trying again: the registry said it is unavailable, or could not be reached at all. */
export function isTransient(error: unknown): boolean {
  if (error instanceof SwitchboardError) return error.code === 'UNAVAILABLE';
  return error instanceof TypeError || (error instanceof Error && error.name === 'AbortError');
}
