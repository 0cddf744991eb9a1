import { SwitchboardError } from '@switchboard/contracts';
import type { Db, Tx } from '../db/client.js';
import { abandoned, runTransaction } from '../db/transaction.js';
import type { Queued } from './group-commit.js';

/** A queued item that carries the signal of the request that submitted it (the batch runs outside every request). */
export interface Signalled {
  signal: AbortSignal | undefined;
}

/**
 * Writes a group-committed batch of items that are each atomic on their own: all in one transaction,
 * then answers each entry with its own result (an error result fails that entry alone).
 *
 * If the transaction fails, the items are written again one by one, so one bad item cannot fail the
 * others. Not when the database is unavailable: that fails them all alike, and a batch whose commit was
 * cut off (outcome unknown) may have been applied, so it must not run again. An entry whose request
 * was abandoned while it queued is dropped before the first statement (UNAVAILABLE, not applied).
 */
export async function writeEachAtomically<T extends Signalled, R>(
  db: Db,
  batch: readonly Queued<T, R>[],
  write: (tx: Tx, items: T[]) => Promise<(R | SwitchboardError)[]>,
): Promise<void> {
  let live = batch;
  try {
    const answers = await runTransaction(db, (tx) => {
      // The connection is held and nothing is written yet: whoever gave up while queued is dropped.
      live = withoutAbandoned(live);
      return write(
        tx,
        live.map((entry) => entry.item),
      );
    });
    live.forEach((entry, index) => answer(entry, answers[index]!));
  } catch (error) {
    if (live.length <= 1 || (error instanceof SwitchboardError && error.code === 'UNAVAILABLE')) for (const entry of live) entry.reject(error);
    else await oneByOne(db, live, write);
  }
}

async function oneByOne<T extends Signalled, R>(
  db: Db,
  batch: readonly Queued<T, R>[],
  write: (tx: Tx, items: T[]) => Promise<(R | SwitchboardError)[]>,
): Promise<void> {
  for (const entry of batch) {
    try {
      const [result] = await runTransaction(db, (tx) =>
        write(
          tx,
          withoutAbandoned([entry]).map((live) => live.item),
        ),
      );
      if (result) answer(entry, result);
    } catch (error) {
      entry.reject(error);
    }
  }
}

/** Refuses (UNAVAILABLE, not applied) the entries whose request was abandoned; returns the others. */
function withoutAbandoned<T extends Signalled, R>(entries: readonly Queued<T, R>[]): readonly Queued<T, R>[] {
  const live = entries.filter((entry) => !entry.item.signal?.aborted);
  if (live.length === entries.length) return entries;
  for (const entry of entries) if (entry.item.signal?.aborted) entry.reject(abandoned());
  return live;
}

function answer<T, R>(entry: Queued<T, R>, result: R | SwitchboardError): void {
  if (result instanceof SwitchboardError) entry.reject(result);
  else entry.resolve(result);
}
