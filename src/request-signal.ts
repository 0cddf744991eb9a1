import { AsyncLocalStorage } from 'node:async_hooks';
import type { WriteOutcome } from '@switchboard/contracts';

/**
 * The signal of the request a piece of work runs for: aborted when the client went away or the
 * request's deadline passed. The HTTP/WebSocket layer runs each operation inside `runWithSignal`
 * (src/http/deadline.ts); the transaction helper checks `currentSignal()` before it begins, so a
 * write nobody waits for any more is never applied late (after newer writes).
 *
 * Below both the database (src/db, which marks what a request's writes did) and the request
 * deadline (src/http, which reads it): neither is the other's to import.
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

/**
 * Per request (keyed by its signal): whether one of its writes may have been applied: a COMMIT
 * was sent, or the write was handed to a batch that commits it on its own (src/db/cancellation.ts).
 * Until then, the request's abort guarantees nothing of it commits: the deadline may say `not_applied`.
 */
const writesInDoubt = new WeakSet<AbortSignal>();

/** Called as a write of the request may be applied from now on, whatever becomes of the request. */
export function noteWriteInDoubt(signal: AbortSignal | undefined): void {
  if (signal) writesInDoubt.add(signal);
}

/** What a request abandoned now can say of its writes. */
export function writeOutcome(signal: AbortSignal): WriteOutcome {
  return writesInDoubt.has(signal) ? 'unknown' : 'not_applied';
}
