import type { ServerResponse } from 'node:http';
import { GraphQLError, getOperationAST, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import { unavailable, type SwitchboardError, type WriteOutcome } from '@switchboard/contracts';
import { runWithSignal, writeOutcome } from '../request-signal.js';

/** What the transports put in the context: the HTTP response, or the operation's WebSocket. */
interface TransportContext {
  res?: ServerResponse;
  socket?: WebSocket;
}

type Execute = (args: ExecutionArgs) => unknown;

/**
 * Every query and mutation, over HTTP or WebSocket, runs with a deadline and an AbortSignal
 * (src/request-signal.ts) that aborts when the deadline passes or the client goes away.
 *
 * - The client gets an answer by the deadline: `UNAVAILABLE`, instead of hanging for as long
 *   as the database is away. A mutation's says `outcome: "not_applied"` unless one of its writes
 *   sent its COMMIT (or went to a group commit): then `"unknown"`.
 * - The abort makes that answer true: the transaction helper cancels the statements a write still
 *   waits on (a lock), rolls it back, and begins or commits nothing more (src/db/cancellation.ts).
 *
 * Subscriptions live as long as their client wants; they get neither.
 * Must be the last plugin that replaces `execute` (graphql-jit's), so it wraps whichever runs.
 */
export function useRequestDeadline(timeoutMs: number): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      const run = executeFn as Execute;
      setExecuteFn((executionArgs) => runWithDeadline(executionArgs, run, timeoutMs));
    },
  };
}

async function runWithDeadline(args: ExecutionArgs, execute: Execute, timeoutMs: number): Promise<unknown> {
  const controller = new AbortController();
  const stopWatchingClient = onClientGone(args.contextValue as TransportContext, () => controller.abort(new Error('client went away')));
  try {
    // Whatever keeps running after the deadline answered (a query waiting for a connection) still
    // sees the aborted signal, and starts no transaction.
    return await raceTimeout(
      () => runWithSignal(controller.signal, () => execute(args)),
      timeoutMs,
      (): ExecutionResult => {
        // Read before the abort, in the same tick: no COMMIT can be sent in between.
        const error = deadlineError(args, timeoutMs, controller.signal);
        controller.abort(new Error('request deadline passed'));
        return { data: null, errors: [new GraphQLError(error.message, { originalError: error })] };
      },
    );
  } finally {
    stopWatchingClient();
  }
}

function deadlineError(args: ExecutionArgs, timeoutMs: number, signal: AbortSignal): SwitchboardError {
  const mutation = getOperationAST(args.document, args.operationName)?.operation === 'mutation';
  return deadlinePassed(timeoutMs, mutation ? writeOutcome(signal) : undefined);
}

function deadlinePassed(timeoutMs: number, outcome: WriteOutcome | undefined): SwitchboardError {
  const seconds = `${timeoutMs / 1000}s`;
  const what =
    outcome === 'unknown'
      ? ' The write was committing and may have been applied: read it back before retrying.'
      : outcome === 'not_applied'
        ? ' The write was cancelled; nothing was written.'
        : '';
  return unavailable(`No answer within ${seconds} (SWITCHBOARD_REQUEST_TIMEOUT): the database is slow or unreachable.${what} Retry later.`, outcome);
}

/**
 * `work`, or a rejection after `timeoutMs`: for what runs before GraphQL (checking a token), so a
 * database that is away answers UNAVAILABLE in time there too.
 */
export function withinDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  return raceTimeout(
    () => work,
    timeoutMs,
    () => Promise.reject(unavailable(`No answer from the database within ${timeoutMs / 1000}s.`)),
  );
}

/**
 * What `work` gives, or what `onTimeout` gives (a rejection included) if `timeoutMs` passes
 * first. The timer is armed before `work` starts, and cleared as soon as either is done.
 */
async function raceTimeout<T>(work: () => T | Promise<T>, timeoutMs: number, onTimeout: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), timeoutMs);
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `gone` once if the client disconnects before its answer is sent; returns the unsubscribe. */
function onClientGone(context: TransportContext, gone: () => void): () => void {
  if (context.socket) return onSocketClosed(context.socket, gone);
  const { res } = context;
  if (!res) return () => {};
  // The response closes either way; only a close before the answer was written means the client left.
  const closed = () => {
    if (!res.writableFinished) gone();
  };
  if (res.closed) closed();
  res.once('close', closed);
  return () => res.off('close', closed);
}

/**
 * One 'close' listener per WebSocket, whatever the number of operations in flight on it: a listener
 * per operation would pass the emitter's limit of 10 and warn about a leak that is not one.
 */
const inFlightOnSocket = new WeakMap<WebSocket, Set<() => void>>();

function onSocketClosed(socket: WebSocket, gone: () => void): () => void {
  if (socket.readyState >= socket.CLOSING) {
    gone();
    return () => {};
  }
  const operations = inFlightOnSocket.get(socket) ?? watchClose(socket);
  operations.add(gone);
  return () => operations.delete(gone);
}

function watchClose(socket: WebSocket): Set<() => void> {
  const operations = new Set<() => void>();
  socket.once('close', () => {
    for (const gone of operations) gone();
    operations.clear();
  });
  inFlightOnSocket.set(socket, operations);
  return operations;
}

/**
 * Runs `work` (a request outside GraphQL: the Consul-compatible API) under the same rules as
 * a GraphQL operation: a request signal (src/request-signal.ts) that aborts when the deadline
 * passes or `clientGone` aborts, so no transaction begins for a request nobody waits for,
 * and UNAVAILABLE at the deadline (for a write, its outcome as for a mutation above).
 */
export async function runWithinDeadline<T>(work: () => Promise<T>, timeoutMs: number, clientGone: AbortSignal, isWrite: boolean): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort(new Error('client went away'));
  if (clientGone.aborted) abort();
  else clientGone.addEventListener('abort', abort, { once: true });
  try {
    return await raceTimeout(
      () => runWithSignal(controller.signal, work),
      timeoutMs,
      () => {
        const error = deadlinePassed(timeoutMs, isWrite ? writeOutcome(controller.signal) : undefined);
        controller.abort(new Error('request deadline passed'));
        return Promise.reject(error);
      },
    );
  } finally {
    clientGone.removeEventListener('abort', abort);
  }
}
