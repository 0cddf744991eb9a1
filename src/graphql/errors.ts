import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ErrorCode } from '@switchboard/contracts';
import { toDomainError } from '../db/handle.js';

/**
 * Every error a client sees carries `extensions.code`:
 * - domain errors keep their code and message; database errors that reach here
 *   outside the transaction helper (a read, say) are named the same way: a lost
 *   database is UNAVAILABLE, a constraint violation CONFLICT;
 * - errors GraphQL itself raised about the request (syntax, unknown fields, a
 *   variable of the wrong type, unparsable JSON) are the client's: BAD_USER_INPUT;
 * - anything else is a bug or an outage: "Unexpected error." with INTERNAL, and
 *   the details go to the log, never to the client.
 */
export function maskError(error: unknown, unexpectedMessage: string): GraphQLError {
  const domainError = toDomainError(error);
  if (domainError) {
    return copyWith(error, domainError.message, { ...domainError.details, code: domainError.code });
  }
  if (error instanceof GraphQLError && isRequestError(error)) {
    // graphql-jit's errors may carry no extensions object at all.
    const code = error.extensions?.['code'];
    // Our own codes (UNAUTHENTICATED, LIMIT_EXCEEDED, …) stand; yoga's are translated below.
    if (typeof code === 'string' && !YOGA_REQUEST_CODES.has(code) && !('originalError' in error.extensions)) return error;
    // Yoga's own codes (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_REQUEST)
    // all mean the request was wrong; clients get one code for that.
    const { originalError, ...extensions } = (error.extensions ?? {}) as Record<string, unknown> & { http?: Record<string, unknown> };
    // Yoga marks a failure outside GraphQL (a body that is not JSON) with an
    // `originalError` extension, and answers 400 for it even to application/json
    // clients. The detail stays in the log; the status is kept by leaving `spec` off.
    if (originalError !== undefined && extensions.http) extensions.http = { ...extensions.http, spec: false };
    return copyWith(error, error.message, { ...extensions, code: 'BAD_USER_INPUT' satisfies ErrorCode });
  }
  return copyWith(error, unexpectedMessage, { code: 'INTERNAL' satisfies ErrorCode, ...httpOf(error) });
}

/** Codes graphql-yoga puts on errors about the request; clients get BAD_USER_INPUT instead. */
const YOGA_REQUEST_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE']);

/** True for errors about the request itself: a GraphQLError all the way down. */
export function isRequestError(error: unknown): boolean {
  let current: unknown = error;
  while (current instanceof GraphQLError) {
    if (current.originalError == null) return true;
    current = current.originalError;
  }
  return false;
}

/** True when the error is the client's doing: worth a debug line, not an error log. */
export function isClientError(error: unknown): boolean {
  const domainError = toDomainError(error);
  if (domainError) return domainError.code !== 'INTERNAL' && domainError.code !== 'UNAVAILABLE';
  return isRequestError(error);
}

function copyWith(error: unknown, message: string, extensions: Record<string, unknown>): GraphQLError {
  const located = error instanceof GraphQLError ? error : undefined;
  return new GraphQLError(message, {
    nodes: located?.nodes ?? null,
    source: located?.source ?? null,
    positions: located?.positions ?? null,
    path: located?.path ?? null,
    extensions,
  });
}

function httpOf(error: unknown): Record<string, unknown> {
  const http = error instanceof GraphQLError ? error.extensions?.['http'] : undefined;
  return http ? { http } : {};
}

/**
 * A request that produced no data because the database is unavailable is answered
 * 503 with Retry-After (load balancers and clients know to retry that), not 200/500.
 * "No data": null, or every top-level field null. With partial data the response
 * stays 200: the client has something to use.
 */
export function useUnavailableStatus(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (Symbol.asyncIterator in result || hasData(result.data) || !result.errors?.some(isUnavailable)) return;
        setResult({ ...result, extensions: { ...result.extensions, http: { status: 503, headers: { 'retry-after': '1' } } } });
      },
    }),
  };
}

function isUnavailable(error: unknown): boolean {
  const code = error instanceof GraphQLError ? error.extensions?.['code'] : undefined;
  return code === ('UNAVAILABLE' satisfies ErrorCode) || toDomainError(error)?.code === 'UNAVAILABLE';
}

const hasData = (data: Record<string, unknown> | null | undefined) => data != null && Object.values(data).some((value) => value !== null);
