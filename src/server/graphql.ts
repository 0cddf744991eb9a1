import type { IncomingMessage, Server } from 'node:http';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { CloseCode, type Disposable, type OperationResult } from 'graphql-ws';
import type { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RequestLimits } from '../settings.js';
import type { GraphQLContext, RegistryContext } from '../graphql/context.js';
import { isClientError, maskError, useUnavailableStatus } from '../graphql/errors.js';
import { createLoaders } from '../graphql/loaders.js';
import { getSchema } from '../graphql/schema/index.js';
import type { Logger } from '../logger.js';
import { useOperationMetrics } from '../metrics/graphql.js';
import type { Principal } from '../registry/access/index.js';
import { SessionLimits, type SessionBinding } from '../registry/services/index.js';
import type { Authenticator } from './auth.js';
import { costLimitCountingPageSizes } from './cost.js';
import { useRequestDeadline, withinDeadline } from '../http/deadline.js';
import { DocumentCaches } from './document-cache.js';
import { useDocumentLimits } from '../http/document-limits.js';
import { useJitForHotOperations } from './jit.js';
import { useSharedSubscriptionResults } from './shared-subscriptions.js';
import { guardSubscriptions } from './subscriptions.js';
import { useRejectUnstorableText } from './text.js';
import { disconnectFields, isClientDisconnect } from './disconnects.js';
import { serveGraphQLOverWebSocket } from './websocket.js';
import { sessionIdParam, type ConnectedSessions } from './sessions.js';

export const GRAPHQL_PATH = '/graphql';

/** graphql-ws close codes we use beyond the protocol's own. */
export const WsCloseCode = {
  /** The connection presented no token, or the wrong one, or its token was revoked or expired. */
  Unauthenticated: 4401,
  /** The server is shutting down; reconnect elsewhere or later. */
  GoingAway: 1001,
  /** The database is unreachable, so the token could not be checked; reconnect later. */
  TryAgainLater: 1013,
} as const;

/**
 * GraphiQL subscribes over SSE: a browser WebSocket cannot carry the Authorization
 * header GraphiQL's Headers tab sets, while SSE is a plain fetch that can. Its assets
 * come from this package, not a CDN: registries often live on closed networks.
 */
export const GRAPHIQL_OPTIONS = { title: 'Switchboard', subscriptionsProtocol: 'SSE' } as const;

export type Yoga = YogaServerInstance<Record<string, unknown>, GraphQLContext>;

/** A request that passed the HTTP gate carries its principal (set in http.ts). */
export type AuthenticatedRequest = IncomingMessage & { principal?: Principal };

export function createGraphQLHandler(
  context: RegistryContext,
  authenticator: Authenticator,
  limits: RequestLimits,
  log: Logger,
  options: { jitAfterRuns?: number | undefined; requestTimeoutMs?: number | undefined; metrics?: Registry | undefined } = {},
): Yoga {
  const caches = new DocumentCaches(limits.documentCacheBytes);
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    // Who is asking comes from the transport (the HTTP gate, or the WebSocket's connection
    // params); fresh loaders per request (a subscription's events get their own, see
    // shared-subscriptions.ts): caches never outlive what they were read for.
    context: (initial): GraphQLContext => ({
      ...context,
      principal: (initial['principal'] as Principal | undefined) ?? (initial['req'] as AuthenticatedRequest | undefined)?.principal ?? denied(),
      loaders: createLoaders(context.db, context.counters),
      // Over WebSocket the connection's extra carries it (the upgrade request is not kept).
      callerAddress: (initial['callerAddress'] as string | undefined) ?? (initial['req'] as IncomingMessage | undefined)?.socket?.remoteAddress,
      // Only a WebSocket connection has a session (its connectionParams.sessionId).
      session: initial['session'] as SessionBinding | undefined,
    }),
    landingPage: false,
    // http.ts reads and limits the body before yoga sees it (and the WebSocket has maxPayload);
    // yoga's own limit would pipe every body through a second stream for nothing.
    maxRequestBodySize: false,
    // http.ts serves GraphiQL as static files (graphiql-assets.ts); yoga's renderer rebuilt 9 MB per request.
    graphiql: false,
    // Bounded by bytes, not only by count: whatever a caller can put in a cache costs what it holds.
    parserAndValidationCache: { documentCache: caches.documents, errorCache: caches.errors, validationCache: true },
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    logging: yogaLogger(log),
    plugins: [
      // First: size and nesting are refused before any parser (or cache) sees the text.
      useDocumentLimits(limits),
      caches.useDropInvalidDocuments(),
      // Cheap checks on the document before anything runs; rejections are BAD_USER_INPUT.
      maxTokensPlugin({ n: limits.maxTokens }),
      maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true }),
      maxAliasesPlugin({ n: limits.maxAliases }),
      maxDirectivesPlugin({ n: limits.maxDirectives }),
      costLimitCountingPageSizes({ maxCost: limits.maxCost, ignoreIntrospection: true }),
      useBadUserInputForInvalidDocuments(),
      useRejectUnstorableText(),
      guardSubscriptions(authenticator, limits.subscriptionsPerToken),
      useSharedSubscriptionResults(),
      useUnavailableStatus(),
      ...(options.jitAfterRuns === undefined ? [] : [useJitForHotOperations(options.jitAfterRuns, limits.documentCacheBytes)]),
      ...(options.metrics === undefined ? [] : [useOperationMetrics(options.metrics)]),
      // Last: it wraps whichever execute the plugins above chose (see src/http/deadline.ts).
      ...(options.requestTimeoutMs === undefined ? [] : [useRequestDeadline(options.requestTimeoutMs)]),
    ],
  });
}

/** The HTTP and WebSocket gates always set a principal; reaching here without one is a bug. */
function denied(): never {
  throw new Error('No principal on the request: the authentication gate did not run.');
}

/**
 * Validation failures come back as a result, not a throw, so maskError never
 * sees them; yoga labels them GRAPHQL_VALIDATION_FAILED. Clients get the one
 * code the contract promises for "your request is wrong".
 */
function useBadUserInputForInvalidDocuments(): Plugin {
  return {
    onValidate:
      () =>
      ({ valid, result }) => {
        if (valid) return;
        for (const error of result) (error.extensions as Record<string, unknown>)['code'] = 'BAD_USER_INPUT';
      },
  };
}

interface ConnectionExtra {
  socket: WebSocket;
  callerAddress: string | undefined;
  principal?: Principal;
  session?: SessionBinding;
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) on the same port and path. Every
 * operation goes through yoga's envelop, so both transports share one schema,
 * one error masking and one set of plugins.
 */
export function attachWebSocket(
  httpServer: Server,
  yoga: Yoga,
  authenticator: Authenticator,
  limits: RequestLimits,
  log: Logger,
  requestTimeoutMs: number,
  sessions: ConnectedSessions,
): { wsServer: WebSocketServer; graphqlWs: Disposable } {
  const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: limits.maxBodyBytes });
  const graphqlWs = serveGraphQLOverWebSocket<ConnectionExtra>(
    wsServer,
    {
      // A throw here would close the whole connection (4500) and end every other
      // operation on it; answer it as this operation's error instead.
      execute: (args) => answerErrors(() => (args.rootValue as EnvelopedRoot).execute(args)),
      subscribe: (args) => answerErrors(() => (args.rootValue as EnvelopedRoot).subscribe(args)),
      onConnect: async (ctx) => {
        const extra = ctx.extra as unknown as ConnectionExtra;
        let principal;
        try {
          principal = await withinDeadline(authenticator.authenticate(authorizationParam(ctx.connectionParams)), requestTimeoutMs);
        } catch (error) {
          log.warn({ err: error }, 'could not check a token: the database is unreachable');
          extra.socket.close(WsCloseCode.TryAgainLater, 'UNAVAILABLE: the token could not be checked; retry later');
          return false;
        }
        if (!principal || (principal.expiresAt && principal.expiresAt.getTime() <= Date.now())) {
          extra.socket.close(WsCloseCode.Unauthenticated, 'UNAUTHENTICATED: missing or invalid token');
          return false;
        }
        extra.principal = principal;
        closeWhenRevokedOrExpired(extra.socket, principal, authenticator);
        const sessionId = sessionIdParam(ctx.connectionParams);
        if (sessionId === null) {
          const { minLength, maxLength } = SessionLimits;
          extra.socket.close(CloseCode.BadRequest, `connectionParams.sessionId must be a string of ${minLength} to ${maxLength} characters`);
          return false;
        }
        if (sessionId !== undefined) {
          // A socket that closed while its token was checked has fired 'close' already: it would never detach.
          if (extra.socket.readyState !== extra.socket.OPEN) return false;
          // From here until the socket closes, this server renews the session's ephemeral instances.
          const { binding, detach } = sessions.attach(sessionId);
          extra.session = binding;
          extra.socket.on('close', detach);
        }
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const extra = ctx.extra as unknown as ConnectionExtra;
        // graphql-ws has already entered this operation in ctx.subscriptions: it counts itself.
        if (Object.keys(ctx.subscriptions).length > limits.subscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${limits.subscriptionsPerConnection} subscriptions per connection.`, {
              extensions: { code: 'LIMIT_EXCEEDED' },
            }),
          ];
        }
        // Only what the context and the plugins read: the context is built on this object and a
        // subscription keeps it while open. With the graphql-ws context's fields too, it outgrew a
        // fast V8 object and became a dictionary of about a kilobyte per subscription.
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          socket: extra.socket,
          callerAddress: extra.callerAddress,
          principal: extra.principal,
          session: extra.session,
          params: payload,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [maskError(error, 'Unexpected error.')];
        }
        let errors: readonly unknown[];
        try {
          // The depth, alias, directive and cost limits throw from inside validation.
          errors = validate(schema, document);
        } catch (error) {
          errors = [error];
        }
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
      onError: (ctx, _id, _payload, errors) => {
        // A client that went away fails its operations' last sends (EPIPE, ECONNRESET): routine.
        const { socket } = ctx.extra as unknown as ConnectionExtra;
        const routine = socket.readyState !== socket.OPEN;
        for (const error of errors) {
          if (routine || isClientError(error)) log.debug({ err: error }, 'websocket operation ended');
          else log.error({ err: error }, 'websocket operation failed');
        }
      },
    },
    log,
  );
  return { wsServer, graphqlWs };
}

/** A connection authenticated by a token lives no longer than the token. */
function closeWhenRevokedOrExpired(socket: WebSocket, principal: Principal, authenticator: Authenticator): void {
  const unsubscribe = authenticator.onEnd(principal, (why) => socket.close(WsCloseCode.Unauthenticated, `UNAUTHENTICATED: token ${why}`));
  socket.on('close', unsubscribe);
}

/** `connectionParams.authorization`, whatever its case. */
function authorizationParam(params: Record<string, unknown> | undefined): unknown {
  if (!params) return undefined;
  const key = Object.keys(params).find((name) => name.toLowerCase() === 'authorization');
  return key === undefined ? undefined : params[key];
}

/** Runs an operation; a throw (a plugin refusing it) becomes its error result, masked like over HTTP. */
async function answerErrors(run: () => OperationResult): Promise<Awaited<OperationResult>> {
  try {
    return await run();
  } catch (error) {
    return { errors: [maskError(error, 'Unexpected error.')] };
  }
}

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
}

/** Yoga logs through pino; a client's mistake is a debug line, not an error. */
function yogaLogger(log: Logger) {
  const forward =
    (level: 'debug' | 'info' | 'warn') =>
    (...args: unknown[]) =>
      log[level](describe(args));
  return {
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: (...args: unknown[]) => {
      const error = args.find((arg) => arg instanceof Error);
      if (error && isClientDisconnect(error)) log.debug(disconnectFields(error), 'client disconnected');
      else if (error && isClientError(error)) log.debug({ err: error }, 'request rejected');
      else if (error) log.error({ err: error }, 'request failed');
      else log.error(describe(args));
    },
  };
}

function describe(args: unknown[]): string {
  return args.map((arg) => (typeof arg === 'string' ? arg : arg instanceof GraphQLError ? arg.message : JSON.stringify(arg))).join(' ');
}
