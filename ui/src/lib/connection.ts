import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { SwitchboardClient, SwitchboardRequestError } from '@switchboard/client';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/** graphql-ws close code the server uses for a missing, wrong, revoked or expired token. */
const WS_UNAUTHENTICATED = 4401;

/** The registry's GraphQL endpoint: the server that served this page. */
export function graphqlUrl(): string {
  return new URL('/graphql', location.href).href;
}

/**
 * A random WebSocket session id. The client's default is crypto.randomUUID, which browsers only
 * offer on https or localhost; getRandomValues works on a registry reached over plain http too.
 */
function sessionId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function createClient(token: string | undefined): SwitchboardClient {
  return new SwitchboardClient({
    url: graphqlUrl(),
    token,
    sessionId: sessionId(),
    // A dashboard left open should ride out a server restart, however long: keep trying, with
    // graphql-ws's randomised backoff; subscriptions resume after their last event.
    retryAttempts: Number.MAX_SAFE_INTEGER,
    // Pages and filters replace one subscription by another: the connection outlives the gap.
    lazyCloseTimeout: 10_000,
  });
}

/** Whether an error means the server wants a (different) token: over HTTP, or a WebSocket it closed. */
export function isUnauthenticated(error: unknown): boolean {
  if (error instanceof SwitchboardRequestError) return error.code === 'UNAUTHENTICATED' || error.status === 401;
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === WS_UNAUTHENTICATED;
}

/** A sentence for an error, for the page. */
export function describeError(error: unknown): string {
  if (error instanceof SwitchboardRequestError) return error.code ? `${error.message} (${error.code})` : error.message;
  if (typeof error === 'object' && error !== null && 'code' in error && 'reason' in error) {
    const { code, reason } = error as { code: number; reason: string };
    return `The live connection closed (${code}${reason ? `: ${reason}` : ''}).`;
  }
  if (error instanceof TypeError) return 'The registry could not be reached.';
  return error instanceof Error ? error.message : String(error);
}

export interface Connection {
  client: SwitchboardClient;
  /** Whether this session sends a token (the header shows a button to forget it). */
  hasToken: boolean;
  /** Called with an error the server answered UNAUTHENTICATED: the app asks for a token again. */
  unauthenticated(error: unknown): void;
}

export const ConnectionContext = createContext<Connection | undefined>(undefined);

export function useConnection(): Connection {
  const connection = useContext(ConnectionContext);
  if (!connection) throw new Error('useConnection is used outside the connected app');
  return connection;
}

/**
 * client.request and client.subscribe for code generic in the variables: their rest parameters
 * make the variables optional only for operations without any, which a generic hook cannot name.
 */
export function request<Result, Variables>(client: SwitchboardClient, document: TypedDocumentNode<Result, Variables>, variables: Variables): Promise<Result> {
  return (client.request as (document: TypedDocumentNode<Result, Variables>, variables: Variables) => Promise<Result>).call(client, document, variables);
}

export function subscribe<Result, Variables>(
  client: SwitchboardClient,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
): AsyncIterableIterator<Result> {
  return (client.subscribe as (document: TypedDocumentNode<Result, Variables>, variables: Variables) => AsyncIterableIterator<Result>).call(
    client,
    document,
    variables,
  );
}
