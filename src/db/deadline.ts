import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The signal of the request a piece of work runs for: aborted when the client went away or the
 * request's deadline passed. The HTTP/WebSocket layer runs each operation inside `runWithSignal`;
 * the transaction helper checks `currentSignal()` before it begins, so a write nobody waits for any
 * more is never applied late (after newer writes).
 */
const requestSignal = new AsyncLocalStorage<AbortSignal>();

export function runWithSignal<T>(signal: AbortSignal, fn: () => T): T {
  return requestSignal.run(signal, fn);
}

export function currentSignal(): AbortSignal | undefined {
  return requestSignal.getStore();
}

/**
 * Runs `fn` outside any request: for work done on behalf of many requests at once (a coalesced
 * batch), which must not be refused because the one request that happened to start it went away.
 */
export function outsideRequest<T>(fn: () => T): T {
  return requestSignal.exit(fn);
}
