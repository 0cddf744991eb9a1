import type { Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Disposable, OperationResult } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GraphQLContext, RegistryContext } from '../graphql/context.js';
import { createLoaders } from '../graphql/loaders.js';
import { isClientError, maskError } from '../graphql/errors.js';
import { getSchema } from '../graphql/schema/index.js';
import type { Logger } from '../logger.js';
import type { TokenGate } from './auth.js';

export const GRAPHQL_PATH = '/graphql';

/** graphql-ws close codes we use beyond the protocol's own. */
export const WsCloseCode = {
  /** The connection presented no token, or the wrong one. */
  Unauthenticated: 4401,
  /** The server is shutting down; reconnect elsewhere or later. */
  GoingAway: 1001,
} as const;

export type Yoga = YogaServerInstance<Record<string, unknown>, GraphQLContext>;

export function createGraphQLHandler(context: RegistryContext, log: Logger): Yoga {
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    // Fresh loaders per request (and per WebSocket operation): caches never outlive it.
    context: (): GraphQLContext => ({ ...context, loaders: createLoaders(context.db) }),
    landingPage: false,
    // GraphiQL subscribes over SSE: a browser WebSocket cannot carry the Authorization
    // header GraphiQL's Headers tab sets, while SSE is a plain fetch that can.
    graphiql: { title: 'Switchboard', subscriptionsProtocol: 'SSE' },
    // GraphiQL's assets are served from this package, not a CDN: registries often live on closed networks.
    renderGraphiQL,
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    logging: yogaLogger(log),
    plugins: [useBadUserInputForInvalidDocuments()],
  });
}

/**
 * Validation failures come back as a result, not a throw, so maskError never
 * sees them; yoga labels them GRAPHQL_VALIDATION_FAILED. Clients get the one
 * code the contract promises for "your request is wrong".
 */
function useBadUserInputForInvalidDocuments(): Plugin {
  return {
    onValidate: () => ({ valid, result }) => {
      if (valid) return;
      for (const error of result) (error.extensions as Record<string, unknown>)['code'] = 'BAD_USER_INPUT';
    },
  };
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) on the same port and path. Every
 * operation goes through yoga's envelop, so both transports share one schema,
 * one error masking and one set of plugins.
 */
export function attachWebSocket(httpServer: Server, yoga: Yoga, gate: TokenGate, log: Logger): { wsServer: WebSocketServer; graphqlWs: Disposable } {
  const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: 1024 * 1024 });
  const graphqlWs = useServer<Record<string, unknown> | undefined>(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: (ctx) => {
        if (gate.allows(authorizationParam(ctx.connectionParams))) return true;
        ctx.extra.socket.close(WsCloseCode.Unauthenticated, 'UNAUTHENTICATED: missing or invalid token');
        return false;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [maskError(error, 'Unexpected error.')];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors.map((error: unknown) => maskError(error, 'Unexpected error.'));
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName ?? null,
          document,
          variableValues: payload.variables ?? null,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } as EnvelopedRoot,
        };
        return args;
      },
      onError: (_ctx, _id, _payload, errors) => {
        for (const error of errors) if (!isClientError(error)) log.error({ err: error }, 'websocket operation failed');
      },
    },
    wsServer,
  );
  return { wsServer, graphqlWs };
}

/** `connectionParams.authorization`, whatever its case (GraphiQL forwards its headers as typed). */
function authorizationParam(params: Record<string, unknown> | undefined): unknown {
  if (!params) return undefined;
  const key = Object.keys(params).find((name) => name.toLowerCase() === 'authorization');
  return key === undefined ? undefined : params[key];
}

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
}

/** Yoga logs through pino; a client's mistake is a debug line, not an error. */
function yogaLogger(log: Logger) {
  const forward = (level: 'debug' | 'info' | 'warn') => (...args: unknown[]) => log[level](describe(args));
  return {
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: (...args: unknown[]) => {
      const error = args.find((arg) => arg instanceof Error);
      if (error && isClientError(error)) log.debug({ err: error }, 'request rejected');
      else if (error) log.error({ err: error }, 'request failed');
      else log.error(describe(args));
    },
  };
}

function describe(args: unknown[]): string {
  return args.map((arg) => (typeof arg === 'string' ? arg : arg instanceof GraphQLError ? arg.message : JSON.stringify(arg))).join(' ');
}
