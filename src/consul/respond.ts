import type { ServerResponse } from 'node:http';
import type { ConsulError } from './errors.js';
import type { Answer } from './router.js';

/** Headers Consul puts on every answer, which clients read: a single server is always its own leader. */
function consulHeaders(index: number): Record<string, string> {
  return { 'x-consul-index': String(Math.max(1, index)), 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' };
}

export function sendAnswer(res: ServerResponse, answer: Answer, index: number): void {
  const payload = answer.text ?? JSON.stringify(answer.body ?? null);
  res.writeHead(answer.status ?? 200, {
    'content-type': answer.contentType ?? (answer.text === undefined ? 'application/json' : 'text/plain; charset=utf-8'),
    'content-length': Buffer.byteLength(payload),
    ...consulHeaders(answer.index ?? index),
  });
  res.end(payload);
}

/** Consul answers errors as plain text, with the same headers as any answer. */
export function sendError(res: ServerResponse, error: ConsulError, index: number): void {
  const payload = error.message;
  res.writeHead(error.status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...consulHeaders(index),
    ...error.headers,
  });
  res.end(payload);
}
