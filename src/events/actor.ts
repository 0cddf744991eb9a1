import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventActor } from '../db/schema.js';

export type { EventActor };

const actors = new AsyncLocalStorage<EventActor>();

/**
 * Runs `fn` on behalf of `actor`: every event appended inside it (however deep in
 * the domain) records who caused it, without threading the caller through every
 * function signature. The API layer sets it once per mutation.
 */
export function runAs<T>(actor: EventActor | undefined, fn: () => T): T {
  return actor ? actors.run(actor, fn) : fn();
}

export function currentActor(): EventActor | undefined {
  return actors.getStore();
}
