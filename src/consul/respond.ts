import type { ServerResponse } from 'node:http';
import type { ConsulError } from './errors.js';
import type { Answer } from './router.js';

/**
 * An answer ready for the wire: status, headers and body bytes. Made once per answer, so the
 * requests that share one (a thousand watchers woken by the same change) share its bytes too
 * instead of serializing the same JSON a thousand times.
 */
export interface Reply {
  status: number;
  headers: Readonly<Record<string, string | number>>;
  payload: Buffer;
}

/** Headers Consul puts on every answer, which clients read: a single server is always its own leader. */
function consulHeaders(index: number): Record<string, string> {
  return { 'x-consul-index': String(Math.max(1, index)), 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' };
}

/** `answer` serialized, with `index` as its X-Consul-Index unless the answer names its own. */
export function toReply(answer: Answer, index: number): Reply {
  const text = answer.text ?? JSON.stringify(answer.body ?? null);
  const payload = typeof text === 'string' ? Buffer.from(text) : text;
  return {
    status: answer.status ?? 200,
    headers: {
      'content-type': answer.contentType ?? (answer.text === undefined ? 'application/json' : 'text/plain; charset=utf-8'),
      'content-length': payload.length,
      ...consulHeaders(answer.index ?? index),
    },
    payload,
  };
}

/** Consul answers errors as plain text, with the same headers as any answer. */
export function errorReply(error: ConsulError, index: number): Reply {
  const payload = Buffer.from(error.message);
  return {
    status: error.status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': payload.length, ...consulHeaders(index), ...error.headers },
    payload,
  };
}

export function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.payload);
}
