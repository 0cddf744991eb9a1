import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../graphql/context.js';
import type { Principal } from '../registry/access/index.js';
import type { Authenticator, TokenEnd } from './auth.js';

/**
 * Every subscription (WebSocket or SSE) is tied to the token that opened it: when
 * the token is revoked (on any server) or expires, the subscription receives an
 * UNAUTHENTICATED error and ends. Also caps the subscriptions one token holds open
 * on this server, and counts those open (`counters.openSubscriptions`).
 */
export function guardSubscriptions(authenticator: Authenticator, perToken: number): Plugin<GraphQLContext> {
  const open = new Map<string, number>();
  return {
    onSubscribe: ({ args }) => ({
      onSubscribeResult: ({ result, setResult }) => {
        if (!isAsyncIterable(result)) return;
        const { principal, counters } = args.contextValue;
        const count = open.get(principal.id) ?? 0;
        if (count >= perToken) {
          void (result as AsyncIterableIterator<unknown>).return?.();
          setResult({
            errors: [new GraphQLError(`At most ${perToken} open subscriptions per token on one server.`, { extensions: { code: 'LIMIT_EXCEEDED' } })],
          });
          return;
        }
        open.set(principal.id, count + 1);
        counters.openSubscriptions += 1;
        const release = () => {
          counters.openSubscriptions -= 1;
          const remaining = (open.get(principal.id) ?? 1) - 1;
          if (remaining > 0) open.set(principal.id, remaining);
          else open.delete(principal.id);
        };
        setResult(new GuardedStream(result[Symbol.asyncIterator](), principal, authenticator, release));
      },
    }),
  };
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A subscription's results until its token ends, then that token's error, then the end. A plain
 * iterator object holding one pending step: racing each step against the token's end (Promise.race)
 * would leave a reaction on the never-settled promises for every event delivered.
 */
class GuardedStream implements AsyncIterableIterator<ExecutionResult> {
  private pending: ((step: IteratorResult<ExecutionResult>) => void) | undefined;
  /** The token's end, to deliver on the next call when no call was waiting. */
  private ending: ExecutionResult | undefined;
  private finished = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: AsyncIterator<ExecutionResult>,
    private readonly principal: Principal,
    authenticator: Authenticator,
    private readonly release: () => void,
  ) {
    this.unsubscribe = authenticator.onEnd(principal, (why) => this.tokenEnded(why));
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.ending) {
      const value = this.ending;
      this.ending = undefined;
      return Promise.resolve({ done: false, value });
    }
    if (this.finished) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.pending = resolve;
      this.source.next().then(
        (step) => {
          if (this.pending !== resolve) return;
          this.pending = undefined;
          if (step.done) this.finish();
          resolve(step);
        },
        (error: unknown) => {
          if (this.pending !== resolve) return;
          this.pending = undefined;
          this.finish();
          reject(error);
        },
      );
    });
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.finish();
    this.settle(DONE);
    return DONE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }

  private tokenEnded(why: TokenEnd): void {
    if (this.finished) return;
    const value = { errors: [new GraphQLError(`Token "${this.principal.name}" ${why}; subscription ended.`, { extensions: { code: 'UNAUTHENTICATED' } })] };
    this.finish();
    if (this.pending) this.settle({ done: false, value });
    else this.ending = value;
  }

  private settle(step: IteratorResult<ExecutionResult>): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.(step);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.unsubscribe();
    this.release();
    // An iterator that fails while ending has nothing more to say to this subscriber.
    void Promise.resolve(this.source.return?.()).catch(() => {});
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
