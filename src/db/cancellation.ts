import { AsyncLocalStorage } from 'node:async_hooks';
import type postgres from 'postgres';
import { unavailable } from '@switchboard/contracts';
import { currentSignal, noteWriteInDoubt } from '../request-signal.js';

/**
 * What a request's deadline needs from its writes: to cancel the statements a transaction still
 * waits on (a lock, say) for real, and to know whether any write may have committed.
 *
 * The trap it closes: a deadline that only stops waiting leaves the statement queued for its lock.
 * It then gets the lock, runs and commits after the client was told the write timed out: under
 * load, 134 of 154 writes answered `outcome: "unknown"` had been applied.
 */

type Query = postgres.PendingQuery<postgres.Row[]>;

/** The statements one transaction attempt has sent and not yet seen answered. */
export class StatementTracker {
  private readonly pending = new Set<Query>();
  private cancelled = false;

  track(query: Query): void {
    // After a cancel, what the transaction still sends is refused before it reaches the database.
    if (this.cancelled) return cancelQuietly(query);
    this.pending.add(query);
    const settled = () => this.pending.delete(query);
    // Subscribing starts a postgres.js query one microtask later; its caller awaits it at once anyway
    // (Drizzle calls `.values()` synchronously first, which is all it configures).
    query.then(settled, settled);
  }

  /** Cancels every statement in flight (PostgreSQL's cancel request; one not yet sent is dropped) and every later one. */
  cancel(): void {
    this.cancelled = true;
    for (const query of this.pending) cancelQuietly(query);
    this.pending.clear();
  }
}

function cancelQuietly(query: Query): void {
  // The cancel request opens a connection of its own: while the database is unreachable it fails,
  // and the statement fails with the connection anyway.
  void Promise.resolve(query.cancel()).catch(() => {});
}

/** The tracker of the transaction attempt being begun, set by runTransaction around `db.transaction`. */
const attemptStatements = new AsyncLocalStorage<StatementTracker>();

export function withStatementTracker<T>(tracker: StatementTracker, fn: () => T): T {
  return attemptStatements.run(tracker, fn);
}

/**
 * The pool as Drizzle should see it: each transaction's statements are reported to the tracker
 * of the attempt that began it (Drizzle sends them all through the transaction's `unsafe`).
 */
export function trackTransactionStatements(sql: postgres.Sql): postgres.Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property !== 'begin') return Reflect.get(target, property, receiver) as unknown;
      return (...args: unknown[]) => {
        const fn = args.pop() as (tx: postgres.TransactionSql) => unknown;
        const tracker = attemptStatements.getStore();
        const begin = target.begin.bind(target) as (...a: unknown[]) => Promise<unknown>;
        return begin(...args, (tx: postgres.TransactionSql) => fn(tracker ? tracked(tx, tracker) : tx));
      };
    },
  });
}

function tracked<S extends postgres.TransactionSql>(tx: S, tracker: StatementTracker): S {
  return new Proxy(tx, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (...args: unknown[]) => {
          const unsafe = target.unsafe.bind(target) as (...a: unknown[]) => Query;
          const query = unsafe(...args);
          tracker.track(query);
          return query;
        };
      }
      if (property === 'savepoint') {
        // Drizzle's nested transactions: their statements belong to the same attempt.
        return (...args: unknown[]) => {
          const fn = args.pop() as (sp: postgres.TransactionSql) => unknown;
          const savepoint = target.savepoint.bind(target) as (...a: unknown[]) => Promise<unknown>;
          return savepoint(...args, (sp: postgres.TransactionSql) => fn(tracked(sp, tracker)));
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/**
 * For a write that leaves the request (a group commit writes it later, under no request's signal):
 * refused once the request was abandoned; otherwise the request's outcome is in doubt from here on.
 */
export function handOffWrite(): void {
  const signal = currentSignal();
  if (!signal) return;
  if (signal.aborted) throw abandoned();
  noteWriteInDoubt(signal);
}

export const abandoned = () =>
  unavailable('The request was abandoned (its client went away or its deadline passed) before its write committed; nothing was written.', 'not_applied');
