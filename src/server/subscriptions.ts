import { Repeater } from '@repeaterjs/repeater';
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../graphql/context.js';
import type { Principal } from '../registry/access/index.js';
import type { Authenticator, TokenEnd } from './auth.js';

/**
 * Every subscription (WebSocket or SSE) is tied to the token that opened it: when
 * the token is revoked (on any server) or expires, the subscription receives an
 * UNAUTHENTICATED error and ends. Also caps the subscriptions one token holds open
 * on this server.
 */
export function guardSubscriptions(authenticator: Authenticator, perToken: number): Plugin<GraphQLContext> {
  const open = new Map<string, number>();
  return {
    onSubscribe: ({ args }) => ({
      onSubscribeResult: ({ result, setResult }) => {
        if (!isAsyncIterable(result)) return;
        const principal = args.contextValue.principal;
        const count = open.get(principal.id) ?? 0;
        if (count >= perToken) {
          void (result as AsyncIterableIterator<unknown>).return?.();
          setResult({
            errors: [new GraphQLError(`At most ${perToken} open subscriptions per token on one server.`, { extensions: { code: 'LIMIT_EXCEEDED' } })],
          });
          return;
        }
        open.set(principal.id, count + 1);
        const release = () => {
          const remaining = (open.get(principal.id) ?? 1) - 1;
          if (remaining > 0) open.set(principal.id, remaining);
          else open.delete(principal.id);
        };
        setResult(guard(result, principal, authenticator, release));
      },
    }),
  };
}

function guard(
  source: AsyncIterable<ExecutionResult>,
  principal: Principal,
  authenticator: Authenticator,
  release: () => void,
): AsyncIterableIterator<ExecutionResult> {
  return new Repeater<ExecutionResult>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    let unsubscribe!: () => void;
    const endedBy = new Promise<TokenEnd>((resolve) => (unsubscribe = authenticator.onEnd(principal, resolve)));
    try {
      for (;;) {
        const step = await Promise.race([iterator.next(), endedBy, stop.then(() => 'stopped' as const)]);
        if (typeof step === 'string') {
          if (step !== 'stopped') {
            await push({ errors: [new GraphQLError(`Token "${principal.name}" ${step}; subscription ended.`, { extensions: { code: 'UNAUTHENTICATED' } })] });
          }
          break;
        }
        if (step.done) break;
        await push(step.value);
      }
    } finally {
      unsubscribe();
      release();
      await iterator.return?.();
      stop();
    }
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
