import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import { processRegularResult, type YogaLogger } from 'graphql-yoga';
import type { ExecutionCounters } from '../graphql/context.js';
import { maskError } from '../graphql/errors.js';
import type { Yoga } from './graphql.js';

/** The answer's media type, by the first type the client accepts (as yoga chooses it). */
const ANSWER_TYPES: Record<string, string> = {
  '': 'application/json',
  '*/*': 'application/json',
  'application/json': 'application/json',
  'application/graphql-response+json': 'application/graphql-response+json',
};

/** The request body members a plain GraphQL-over-HTTP POST may carry; anything else is yoga's to judge. */
const PLAIN_MEMBERS = new Set(['query', 'variables', 'operationName']);

interface PlainRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * Queries and mutations over a plain JSON POST, answered without yoga's fetch-API layer.
 *
 * Yoga turns every Node request into a WHATWG Request and every answer into a Response,
 * through promise helpers at each step: under a discovery load that layer was half of the
 * server's CPU (`npx tsx bench/profile.ts discovery`). This path runs the very same
 * envelop (`yoga.getEnveloped`, as the WebSocket transport does): the same parser and
 * validation caches, document and cost limits, graphql-jit, deadline and metrics plugins,
 * the same context and error masking. It takes a request only when yoga would take it
 * as a single JSON operation with nothing of its own to add (no CORS Origin, no batch, no
 * extensions, a JSON media type); the answer is built by yoga's own result processor
 * whenever it is more than `{"data":…}`, so status, headers and text are yoga's.
 *
 * Before anything runs it may still decline (returns false, the request untouched): a
 * document that does not parse or validate, a subscription. Once the operation runs, it
 * answers, whatever happens: a mutation must never run twice.
 */
export function directOperations(yoga: Yoga, counters: ExecutionCounters): (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean> {
  const runnable = new WeakMap<DocumentNode, Map<string | null, boolean>>();
  const isQueryOrMutation = (document: DocumentNode, operationName: string | null): boolean => {
    let byName = runnable.get(document);
    if (byName === undefined) runnable.set(document, (byName = new Map()));
    let answer = byName.get(operationName);
    if (answer === undefined) {
      const operation = getOperationAST(document, operationName)?.operation;
      byName.set(operationName, (answer = operation === 'query' || operation === 'mutation'));
    }
    return answer;
  };

  return async (req, res, body) => {
    const answerType = ANSWER_TYPES[firstAccepted(req.headers.accept)];
    if (answerType === undefined || req.headers.origin !== undefined || !isJson(req.headers['content-type'])) return false;
    const params = plainRequest(body);
    if (params === undefined) return false;
    const operationName = params.operationName ?? null;

    const { parse, validate, contextFactory, execute, schema } = yoga.getEnveloped({ req, res, params });
    let document: DocumentNode;
    try {
      // Both cached by the text (yoga's parser and validation caches): one lookup each once warm.
      document = parse(params.query);
      if (!isQueryOrMutation(document, operationName) || validate(schema, document).length > 0) return false;
    } catch {
      return false;
    }
    counters.directAnswers += 1;
    let result: ExecutionResult;
    try {
      result = (await execute({
        schema,
        document,
        operationName,
        variableValues: params.variables ?? null,
        contextValue: await contextFactory(),
      })) as ExecutionResult;
    } catch (error) {
      // A plugin refusing the operation (variables nesting too deep, text that cannot be stored).
      result = thrownResult(error, yoga.logger);
    }
    if (!(Symbol.asyncIterator in result) && result.errors === undefined && result.extensions === undefined) {
      const text = JSON.stringify(result);
      res.writeHead(200, { 'Content-Type': `${answerType}; charset=utf-8`, 'content-length': Buffer.byteLength(text) }).end(text);
    } else {
      // Errors call for a status and headers of their own: yoga's result processor decides them.
      const response = processRegularResult(result, yoga.fetchAPI, answerType);
      const text = await response.text();
      res.writeHead(response.status, { ...Object.fromEntries(response.headers), 'content-length': Buffer.byteLength(text) }).end(text);
    }
    return true;
  };
}

/** What yoga answers for an operation that threw (its handleError): the error masked, logged when masking hid it. */
function thrownResult(error: unknown, logger: YogaLogger): ExecutionResult {
  const masked = maskError(error, 'Unexpected error.');
  if (masked !== error) logger.error(error);
  return { errors: [masked] };
}

/** The first media type of an Accept header, parameters dropped ('' when there is none). */
function firstAccepted(accept: string | undefined): string {
  if (accept === undefined) return '';
  const comma = accept.indexOf(',');
  const first = comma < 0 ? accept : accept.slice(0, comma);
  const semicolon = first.indexOf(';');
  return (semicolon < 0 ? first : first.slice(0, semicolon)).trim().toLowerCase();
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType);
}

/** The body as a plain GraphQL request, or undefined for anything yoga should judge. */
function plainRequest(body: Buffer): PlainRequest | undefined {
  if (!isUtf8(body)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const request = parsed as Record<string, unknown>;
  for (const member in request) if (!PLAIN_MEMBERS.has(member)) return undefined;
  const { query, variables, operationName } = request;
  if (typeof query !== 'string') return undefined;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  return request as unknown as PlainRequest;
}
