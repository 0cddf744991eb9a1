import type { ServiceDefinitionInput } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { currentSignal } from '../../request-signal.js';
import { abandoned } from '../../db/transaction.js';
import { noteAppended } from '../../events/actor.js';
import type { Principal } from '../access/principal.js';
import type { CheckPolicy } from '../health/definition.js';
import type { ServiceInstance } from '../instances/model.js';
import { writeEachAtomically } from '../batch-write.js';
import { GroupCommit, type Queued } from '../group-commit.js';
import type { SessionBinding } from './ephemeral.js';
import { parseRegistration, writeRegistrations, type Registration, type WrittenRegistration } from './register.js';

interface Submitted extends Registration {
  /** The request's signal, captured at enqueue (the batch runs outside every request). */
  signal: AbortSignal | undefined;
}

type Pending = Queued<Submitted, WrittenRegistration>;

/** Registrations one transaction takes at most. */
const MAX_BATCH = 256;

/**
 * Group commit for registrations, with or without checks: a batch is written by
 * writeRegistrations in one transaction, with one locking read, one insert, one append
 * of their events (each its own, with its own actor) and one NOTIFY.
 *
 * Each registration stays atomic (its row, its checks and its events commit together)
 * and each caller learns its own outcome: if a batch fails, its registrations are
 * retried one by one, so one bad registration cannot fail the others. A registration
 * whose token may not take over the id it names (checked under the row lock) is
 * refused alone, FORBIDDEN; one whose request was abandoned while it queued is dropped
 * before its batch's first statement (UNAVAILABLE, not applied).
 */
export class RegistrationWriter {
  private readonly batches: GroupCommit<Submitted, WrittenRegistration>;

  constructor(
    private readonly db: Db,
    private readonly policy: CheckPolicy,
    /** Told each batch's size and write time (metrics). */
    observeBatch?: (size: number, seconds: number) => void,
  ) {
    this.batches = new GroupCommit((batch) => this.write(batch), takeBatch, observeBatch);
  }

  /**
   * Registers (upserts) an instance; resolves once it is committed. With a principal,
   * a token may not take over an id registered under a name it may not write. With a
   * session, the instance is ephemeral: bound to that session's connection (ephemeral.ts).
   */
  async register(input: ServiceDefinitionInput, principal: Principal, session?: SessionBinding): Promise<ServiceInstance> {
    // Validated here, so a bad registration fails alone, before it joins a batch.
    const registration = parseRegistration(input, this.policy, principal, session);
    const signal = currentSignal();
    if (signal?.aborted) throw abandoned();
    const { instance, eventId } = await this.batches.submit({ ...registration, signal });
    noteAppended(eventId);
    return instance;
  }

  /** Resolves when every registration queued so far is written. */
  flush(): Promise<void> {
    return this.batches.flush();
  }

  private write(batch: readonly Pending[]): Promise<void> {
    return writeEachAtomically(this.db, batch, writeRegistrations);
  }
}

/** Up to MAX_BATCH queued registrations with distinct ids (a repeated id waits for the next batch). */
function takeBatch(queue: Pending[]): Pending[] {
  const ids = new Set<string>();
  const batch: Pending[] = [];
  const rest: Pending[] = [];
  for (const entry of queue) {
    if (batch.length < MAX_BATCH && !ids.has(entry.item.definition.id)) {
      ids.add(entry.item.definition.id);
      batch.push(entry);
    } else {
      rest.push(entry);
    }
  }
  queue.splice(0, queue.length, ...rest);
  return batch;
}
