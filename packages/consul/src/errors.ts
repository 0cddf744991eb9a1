import { SwitchboardError, type ErrorCode } from '@switchboard/contracts';

/** What a request was, for messages: "PUT /v1/agent/service/register". Never carries the token (it goes in a header). */
export interface RequestLabel {
  backend: string;
  method: string;
  path: string;
  /** A token was sent: a 403 then means the token lacks a permission, not that credentials are missing. */
  sentToken: boolean;
}

/**
 * Consul's answer other than success as the error every backend throws. Consul answers plain text; the
 * message keeps it (cut short) after the backend's name and the request, so a log line says where it failed.
 *
 * 403 is both "who are you" and "you may not": Consul says "ACL not found" for a token it does not know,
 * and Switchboard's API refuses a request without one; both are UNAUTHENTICATED. A known token without the
 * permission is FORBIDDEN.
 */
export function answerError(label: RequestLabel, status: number, text: string): SwitchboardError {
  const said = text.trim().slice(0, 300) || `HTTP ${status}`;
  const where = `${label.backend} (${label.method} ${label.path})`;
  const code = codeOf(status, said, label.sentToken);
  const message =
    code === 'UNAUTHENTICATED'
      ? `${where} refused the credentials: ${said}. Pass a valid ACL token (the \`token\` option).`
      : code === 'FORBIDDEN'
        ? `${where}: the ACL token lacks a permission this needs: ${said}`
        : `${where} answered ${status}: ${said}`;
  return new SwitchboardError(code, message, { status });
}

function codeOf(status: number, text: string, sentToken: boolean): ErrorCode {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return /ACL not found/i.test(text) || !sentToken ? 'UNAUTHENTICATED' : 'FORBIDDEN';
  if (status === 400 || status === 413 || status === 422) return 'BAD_USER_INPUT';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 501) return 'NOT_SUPPORTED';
  // 5xx: Consul's "No cluster leader", "rpc error", a proxy's 502: worth trying again.
  if (status === 429 || status >= 500) return 'UNAVAILABLE';
  return 'INTERNAL';
}

/** The backend could not be reached or did not answer in time. */
export function unreachable(message: string, cause: unknown): SwitchboardError {
  const error = new SwitchboardError('UNAVAILABLE', message);
  error.cause = cause;
  return error;
}

export function isCode(error: unknown, code: ErrorCode): boolean {
  return error instanceof SwitchboardError && error.code === code;
}

/** The reason as a short phrase: "connect ECONNREFUSED 127.0.0.1:1". */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
