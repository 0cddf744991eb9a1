import type { Db } from '../../db/client.js';
import { currentSignal } from '../../request-signal.js';
import { abandoned } from '../../db/transaction.js';
import { currentActor, noteAppended } from '../../events/actor.js';
import type { Principal } from '../access/principal.js';
import { ttlOutput } from '../health/ttl.js';
import type { ServiceInstance } from '../instances/model.js';
import { writeEachAtomically } from '../batch-write.js';
import { GroupCommit, type Queued } from '../group-commit.js';
import { writeHeartbeats, type Heartbeat, type WrittenHeartbeat } from './heartbeat.js';

type Submitted = Heartbeat & {
  /** The request's signal, captured at enqueue (the batch runs outside every request). */
  signal: AbortSignal | undefined;
};

type Pending = Queued<Submitted, WrittenHeartbeat>;

/** Heartbeats one transaction takes at most. */
const MAX_BATCH = 512;

/**
 * Group commit for heartbeats: those that arrive while a batch is being written queue,
 * and the next transaction renews them all (writeHeartbeats: one lock, one update, one
 * refresh of the TTL checks already passing; no event unless a check turns passing).
 * Thousands of clients renewing every few seconds then cost a few transactions per
 * round, not one each.
 *
 * Each caller learns its own outcome: an unknown id (NOT_FOUND) or an instance its token
 * may not change (FORBIDDEN, checked under the row lock) fails that heartbeat alone; if a
 * batch fails, its heartbeats are retried one by one. A heartbeat whose request was
 * abandoned while it queued is dropped before its batch's first statement (UNAVAILABLE,
 * not applied).
 */
export class HeartbeatWriter {
  private readonly batches: GroupCommit<Submitted, WrittenHeartbeat>;

  constructor(
    private readonly db: Db,
    /** Told each batch's size and write time (metrics). */
    observeBatch?: (size: number, seconds: number) => void,
  ) {
    this.batches = new GroupCommit((batch) => this.write(batch), takeBatch, observeBatch);
  }

  /** Renews an instance's lease and passes its TTL checks; resolves once committed. */
  async renew(id: string, principal: Principal): Promise<ServiceInstance> {
    return (await this.submit({ kind: 'instance', id, principal, actor: currentActor() })).instance;
  }

  /** Passes one TTL check (its status PASSING, `output` as its output); resolves once committed. */
  async passCheck(checkId: string, output: string | null | undefined, principal: Principal): Promise<void> {
    // Validated here, so a bad output fails alone, before it joins a batch.
    await this.submit({ kind: 'check', id: checkId, output: ttlOutput(output), principal, actor: currentActor() });
  }

  /** Resolves when every heartbeat queued so far is written. */
  flush(): Promise<void> {
    return this.batches.flush();
  }

  private async submit(heartbeat: Heartbeat): Promise<WrittenHeartbeat> {
    const signal = currentSignal();
    if (signal?.aborted) throw abandoned();
    const written = await this.batches.submit({ ...heartbeat, signal });
    noteAppended(written.eventId);
    return written;
  }

  private write(batch: readonly Pending[]): Promise<void> {
    return writeEachAtomically(this.db, batch, writeHeartbeats);
  }
}

/** Up to MAX_BATCH queued heartbeats, oldest first (repeats of one id are renewed once, together). */
function takeBatch(queue: Pending[]): Pending[] {
  return queue.splice(0, MAX_BATCH);
}
