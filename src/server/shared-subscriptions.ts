import { createHash } from 'node:crypto';
import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { GraphQLContext } from '../graphql/context.js';
import { createLoaders } from '../graphql/loaders.js';

/**
 * Executes a subscription's selection once per event, not once per subscriber.
 *
 * Every change a registry subscription delivers carries the id of the event it
 * came from. Subscribers whose operation is the same (query text, variables,
 * operation name) and who ask as the same principal get the same result for the
 * same event, so the first of them to reach an event executes it and the rest
 * reuse that result: a config change watched by 5,000 clients is resolved once.
 * Payloads without an event id are executed per subscriber, as usual.
 *
 * Results are kept for the most recent `capacity` (event, operation) pairs, enough
 * for every subscriber to catch up with a burst without holding on to old events.
 * Each execution is counted in the context's `counters.subscriptionExecutions`, and has
 * loaders of its own (table reads are as of the event, not as of the subscription's start).
 */
export function useSharedSubscriptionResults(capacity = 1024): Plugin<GraphQLContext> {
  // Read with peek, which leaves the order alone: what goes first is the pair stored longest ago.
  const results = new LRUCache<string, Promise<ExecutionResult> | ExecutionResult>({ max: capacity });

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const context = args.contextValue as GraphQLContext;
        // Subscribing runs on a copy of the context: what is cached per context object while it runs
        // (the scope-auth plugin's checks, about a kilobyte) is dropped after it, not kept as long as
        // the subscription, which holds on to its original context.
        const stream = await createSourceEventStream({ ...args, contextValue: { ...context } });
        if (!isAsyncIterable(stream)) return stream;
        // Kept for as long as the subscription is open, so it names the document by a number, not by its
        // text; and hashed, since variables may be as large as a request body and each of `capacity`
        // cached results holds its key (the cache is bounded by count: its keys must be small).
        const operation = createHash('sha256')
          .update(JSON.stringify([documentId(args.document), args.variableValues ?? null, args.operationName ?? null, context.principal.id]))
          .digest('base64url');
        const executeFor = (payload: unknown) => {
          context.counters.subscriptionExecutions += 1;
          // Fresh loaders per event: the operation's own would answer every later event with the
          // leases and checks they read for the first one.
          const contextValue: GraphQLContext = { ...context, loaders: createLoaders(context.db, context.counters) };
          return execute({ ...args, contextValue, rootValue: payload });
        };
        return mapEach(stream, (payload) => {
          const eventId = (payload as { eventId?: unknown } | null)?.eventId;
          if (typeof eventId !== 'number') return executeFor(payload);
          const key = `${eventId} ${operation}`;
          let result = results.peek(key);
          if (result === undefined) {
            result = executeFor(payload);
            results.set(key, result);
          }
          return result;
        });
      });
    },
  };
}

/**
 * Subscribers with the same query text share one parsed document (yoga caches documents by their
 * text), so the document object names the query; a document parsed again gets a new number, which
 * only means its subscribers share results among themselves.
 */
const documentIds = new WeakMap<DocumentNode, number>();
let lastDocumentId = 0;
function documentId(document: DocumentNode): number {
  let id = documentIds.get(document);
  if (id === undefined) documentIds.set(document, (id = ++lastDocumentId));
  return id;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * Maps each value of an async iterator. Unlike an async generator, `return()`
 * reaches the source at once even while it waits for its next value, so an
 * unsubscribed client's stream stops now, not after the next event.
 */
function mapEach<T, U>(source: AsyncIterable<T>, map: (value: T) => U | Promise<U>): AsyncIterableIterator<U> {
  const iterator = source[Symbol.asyncIterator]();
  const mapped = async (step: IteratorResult<T>): Promise<IteratorResult<U>> =>
    step.done ? { done: true, value: undefined } : { done: false, value: await map(step.value) };
  return {
    next: () => iterator.next().then(mapped),
    return: () => (iterator.return ? iterator.return().then(mapped) : Promise.resolve({ done: true, value: undefined })),
    throw: (error?: unknown) => (iterator.throw ? iterator.throw(error).then(mapped) : Promise.reject(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
