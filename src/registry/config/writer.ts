import { SwitchboardError } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { abandoned, runTransaction } from '../../db/transaction.js';
import { noteAppended } from '../../events/actor.js';
import { currentSignal, noteWriteInDoubt, outsideRequest, runWithSignal } from '../../request-signal.js';
import type { Principal } from '../access/index.js';
import { GroupCommit, type Queued } from '../group-commit.js';
import type { ConfigEntry } from './model.js';
import { parseDelete, parseRollback, parseSet, type DeleteConfigInput, type RollbackConfigInput, type SetConfigInput } from './write.js';
import { lockAndReadKey, writeLocked, type ConfigWriteOptions, type KeyWrite, type KeyWriteAnswer, type WrittenConfig } from './write-key.js';

interface Submitted {
  write: KeyWrite;
  /** The request's signal, captured at enqueue (the batch runs outside every request). */
  signal: AbortSignal | undefined;
}

type Pending = Queued<Submitted, WrittenConfig>;

/** Writes one transaction takes at most. */
const MAX_BATCH = 64;

/**
 * Group commit for configuration writes, per key: writes to a key that arrive while one of
 * its batches is being written queue, and its next transaction takes them (up to MAX_BATCH),
 * in arrival order: one lock, one read, one write and one append for the lot (writeLocked).
 * Each write used to be a transaction of its own that held a pooled connection while it
 * queued for the key's lock: a burst on a few keys ran out of connections, then of time.
 *
 * Each write keeps its meaning and its answer: its own version, history row and event (with
 * its own actor), its own check (expectedVersion, NOT_FOUND) against the state the writes
 * before it left; one refused fails alone. If a batch fails as a whole, its writes are retried
 * one by one. Keys are independent: their batches run side by side, and the other servers'
 * writes meet them at the key's lock.
 *
 * A write keeps a lone write's deadline too (src/db/transaction.ts): until its batch sends
 * COMMIT, a request that gives up is answered `not_applied`, and that is true. It is dropped
 * from its batch (before the batch begins, or once the key is locked); if it gives up while its
 * batch writes, the batch is rolled back and written again without it; when every write of a
 * batch gave up, the statement the batch waits on (the key's lock, say) is cancelled.
 */
export class ConfigWriter {
  /** The keys with writes queued or being written, and how many. */
  private readonly keys = new Map<string, { batches: GroupCommit<Submitted, WrittenConfig>; pending: number }>();

  constructor(
    private readonly db: Db,
    private readonly options: ConfigWriteOptions,
    /** Told each batch's size and write time (metrics). */
    private readonly observeBatch?: (size: number, seconds: number) => void,
  ) {}

  /** setConfig (write.ts), committed with the key's other writes. */
  set(input: SetConfigInput, principal: Principal): Promise<ConfigEntry> {
    // Parsed here, so bad input fails alone, before it joins a batch (and with its caller's actor).
    return this.submit(parseSet(input, principal));
  }

  /** deleteConfig (write.ts), committed with the key's other writes. */
  delete(input: DeleteConfigInput, principal: Principal): Promise<ConfigEntry> {
    return this.submit(parseDelete(input, principal));
  }

  /** rollbackConfig (write.ts), committed with the key's other writes. */
  rollback(input: RollbackConfigInput, principal: Principal): Promise<ConfigEntry> {
    return this.submit(parseRollback(input, principal));
  }

  /** Resolves when every write queued so far is written. */
  async flush(): Promise<void> {
    await Promise.all([...this.keys.values()].map((key) => key.batches.flush()));
  }

  private async submit(write: KeyWrite): Promise<ConfigEntry> {
    const signal = currentSignal();
    if (signal?.aborted) throw abandoned();
    const { key } = write.target;
    const queue = this.keys.get(key) ?? { batches: new GroupCommit((batch) => this.write(key, batch), takeBatch, this.observeBatch), pending: 0 };
    this.keys.set(key, queue);
    queue.pending++;
    try {
      // Submitted outside the request, so handing it over does not put its outcome in doubt:
      // commit() does, as its batch sends COMMIT.
      const { entry, eventId } = await outsideRequest(() => queue.batches.submit({ write, signal }));
      // The batch appended outside this caller's write: its answer waits for its own event (writes plugin).
      if (eventId > 0) noteAppended(eventId);
      return entry;
    } finally {
      // Answered last: the batch has nothing left to write for this key.
      if (--queue.pending === 0 && this.keys.get(key) === queue) this.keys.delete(key);
    }
  }

  private async write(key: string, batch: readonly Pending[]): Promise<void> {
    try {
      await this.commit(key, batch);
    } catch (error) {
      // One by one finds the write that failed the batch. Not when the database is unavailable:
      // that fails them all alike, and a batch whose commit was cut off (outcome unknown) may
      // have been applied, so it must not run again.
      if (batch.length <= 1 || (error instanceof SwitchboardError && error.code === 'UNAVAILABLE')) for (const entry of batch) entry.reject(error);
      else await this.oneByOne(key, batch);
    }
  }

  private async oneByOne(key: string, batch: readonly Pending[]): Promise<void> {
    for (const entry of batch) {
      try {
        await this.commit(key, [entry]);
      } catch (error) {
        entry.reject(error);
      }
    }
  }

  /** Writes the entries whose requests still wait, in one transaction, and answers them; throws what failed it. */
  private async commit(key: string, entries: readonly Pending[]): Promise<void> {
    let live = withoutAbandoned(entries);
    while (live.length > 0) {
      // Cancels the transaction (what it waits on, or before it begins) once nobody waits for it.
      const everyone = whenAllAborted(live.map((entry) => entry.item.signal));
      try {
        const answers = await runWithSignal(everyone.signal, () =>
          runTransaction(this.db, async (tx) => {
            // The connection is held, then the key's lock: whoever gave up meanwhile is dropped, not applied.
            live = withoutAbandoned(live);
            if (live.length === 0) return [];
            const current = await lockAndReadKey(tx, key);
            live = withoutAbandoned(live);
            const written = await writeLocked(
              tx,
              key,
              current,
              live.map((entry) => entry.item.write),
              this.options,
            );
            // Gave up while the batch wrote: its answer said not_applied, so the batch may not commit it.
            if (live.some((entry) => entry.item.signal?.aborted)) throw new GaveUpWhileWriting();
            // In the tick COMMIT follows: from here, a request that gives up is told `unknown`.
            for (const entry of live) noteWriteInDoubt(entry.item.signal);
            return written;
          }),
        );
        live.forEach((entry, index) => answer(entry, answers[index]!));
        return;
      } catch (error) {
        if (!(error instanceof GaveUpWhileWriting)) throw error;
        live = withoutAbandoned(live);
      } finally {
        everyone.dispose();
      }
    }
  }
}

/** Rolls a batch back to write it again without a write whose request gave up while it was being written. */
class GaveUpWhileWriting extends Error {
  constructor() {
    super('a write of the batch was abandoned before its COMMIT');
  }
}

/** Refuses (UNAVAILABLE, not applied) the entries whose request was abandoned; returns the others. */
function withoutAbandoned(entries: readonly Pending[]): readonly Pending[] {
  const live = entries.filter((entry) => !entry.item.signal?.aborted);
  if (live.length === entries.length) return entries;
  for (const entry of entries) if (entry.item.signal?.aborted) entry.reject(abandoned());
  return live;
}

/** A signal that aborts once all of `signals` have; never, when one is undefined (a write made outside any request). */
function whenAllAborted(signals: readonly (AbortSignal | undefined)[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const requests = signals.filter((signal) => signal !== undefined);
  if (requests.length < signals.length) return { signal: controller.signal, dispose: () => {} };
  const check = () => {
    if (requests.every((signal) => signal.aborted)) controller.abort();
  };
  for (const signal of requests) signal.addEventListener('abort', check);
  check();
  return {
    signal: controller.signal,
    dispose: () => {
      for (const signal of requests) signal.removeEventListener('abort', check);
    },
  };
}

function answer(entry: Pending, result: KeyWriteAnswer): void {
  if (result instanceof SwitchboardError) entry.reject(result);
  else entry.resolve(result);
}

/** The oldest MAX_BATCH queued writes, in arrival order. */
function takeBatch(queue: Pending[]): Pending[] {
  return queue.splice(0, MAX_BATCH);
}
