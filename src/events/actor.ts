import type { EventActor } from '@switchboard/contracts';
import { AsyncLocalStorage } from 'node:async_hooks';

export type { EventActor };

/** What one API write carries through the domain: who, and the newest event it appended. */
export interface WriteContext {
  actor: EventActor | undefined;
  lastEventId: number;
}

const writes = new AsyncLocalStorage<WriteContext>();

/**
 * Runs `fn` on behalf of `actor`: every event appended inside it (however deep in
 * the domain) records who caused it, without threading the caller through every
 * function signature. Returns the context, so the caller can see which events the
 * write produced (to wait until its own reads reflect them).
 */
export async function runAs<T>(actor: EventActor | undefined, fn: () => T | Promise<T>): Promise<{ value: T; write: WriteContext }> {
  const write: WriteContext = { actor, lastEventId: 0 };
  const value = await writes.run(write, fn);
  return { value, write };
}

export function currentActor(): EventActor | undefined {
  return writes.getStore()?.actor;
}

/**
 * Runs `fn` outside any caller's write: for work done on behalf of many callers at
 * once (a coalesced batch), whose events belong to none of them in particular.
 */
export function outsideWrites<T>(fn: () => T): T {
  return writes.exit(fn);
}

/** Called by appendEvents: the newest event id the current write produced. */
export function noteAppended(eventId: number): void {
  const write = writes.getStore();
  if (write && eventId > write.lastEventId) write.lastEventId = eventId;
}
