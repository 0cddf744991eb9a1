/**
 * Error codes that mean the client went away mid-request (closed the tab, timed
 * out, was cut off by a proxy): EPIPE and ECONNRESET from the socket, "aborted"
 * from a request body that stopped, premature close from a stream.
 */
const DISCONNECT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

/** True when `error` (or its cause) says the client disconnected: routine, not a server fault. */
export function isClientDisconnect(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && DISCONNECT_CODES.has(code)) return true;
    if (current.message === 'aborted' || current.name === 'AbortError') return true;
  }
  return false;
}

/** What a debug line needs about a disconnect: its code and message, no stack. */
export function disconnectFields(error: unknown): Record<string, unknown> {
  const { code, message } = error as NodeJS.ErrnoException;
  return { code, reason: message };
}
