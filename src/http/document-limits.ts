import { findInJson } from '@switchboard/contracts';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** What a GraphQL document and its variables may be before anything parses them (docs/security.md, Limits). */
export interface DocumentLimits {
  /** UTF-8 bytes of the query text. */
  maxDocumentBytes: number;
  /** Brackets, braces and parentheses open at once in the query; levels of arrays and objects in the variables. */
  maxNesting: number;
}

/**
 * Refuses, before the parser sees it, a document too large or too deeply nested, and
 * variables nested too deeply. graphql-js parses (and the JSON scalar reads literals)
 * recursively: a document nesting 4,000 brackets overflowed the stack inside the
 * parser, and the RangeError came back as INTERNAL. Every later stage (the parser and
 * its caches, validation, JIT) is bounded by what passes here, so the size is what
 * bounds the memory a cached document can pin (see src/server/document-cache.ts).
 * Runs on HTTP and WebSocket alike: both parse and execute through yoga's envelop.
 */
export function useDocumentLimits(limits: DocumentLimits): Plugin {
  const checkVariables = (variables: unknown) => {
    if (jsonNestsDeeperThan(variables, limits.maxNesting)) {
      throw refusal(`The variables nest deeper than ${limits.maxNesting} levels of arrays and objects.`);
    }
  };
  return {
    onParse: ({ params }) => {
      const problem = documentProblem(params.source.toString(), limits);
      if (problem !== undefined) throw refusal(problem);
    },
    onExecute: ({ args }) => checkVariables(args.variableValues),
    onSubscribe: ({ args }) => checkVariables(args.variableValues),
  };
}

function refusal(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

/** Why the query text is refused, or undefined. Linear in its length, with no recursion. */
export function documentProblem(query: string, limits: DocumentLimits): string | undefined {
  // A string's length bounds its UTF-8 size from below: only a text near the limit is measured.
  if (query.length > limits.maxDocumentBytes || (query.length * 3 > limits.maxDocumentBytes && Buffer.byteLength(query) > limits.maxDocumentBytes)) {
    return `The query is larger than ${limits.maxDocumentBytes} bytes (SWITCHBOARD_MAX_DOCUMENT_BYTES); send a smaller document, and large values as variables.`;
  }
  if (nestingExceeds(query, limits.maxNesting)) {
    return `The query nests brackets, braces or parentheses deeper than ${limits.maxNesting} levels (SWITCHBOARD_MAX_NESTING).`;
  }
  return undefined;
}

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const QUOTE = 0x22;
const HASH = 0x23;
const BACKSLASH = 0x5c;
const OPENING = new Set([0x7b, 0x5b, 0x28]); // { [ (
const CLOSING = new Set([0x7d, 0x5d, 0x29]); // } ] )

/**
 * Whether more than `max` brackets, braces or parentheses are open at some point of the
 * document, outside strings, block strings and comments: what bounds how deep graphql-js's
 * parser recurses (selection sets, lists, input objects, list types all nest by a bracket).
 * Follows the GraphQL lexer's rules for what is a string or a comment. Where the text is not
 * lexically valid (an unterminated string), the parser stops there with a syntax error, so
 * what this scan makes of the rest does not matter; an unbalanced closer is not subtracted
 * below zero, so it can only make the count larger, never hide an opener.
 */
export function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let at = 0;
  const end = text.length;
  while (at < end) {
    const code = text.charCodeAt(at);
    if (OPENING.has(code)) {
      if (++depth > max) return true;
      at += 1;
    } else if (CLOSING.has(code)) {
      if (depth > 0) depth -= 1;
      at += 1;
    } else if (code === HASH) {
      at = lineEnd(text, at);
    } else if (code === QUOTE) {
      at = text.charCodeAt(at + 1) === QUOTE && text.charCodeAt(at + 2) === QUOTE ? blockStringEnd(text, at + 3) : stringEnd(text, at + 1);
    } else {
      at += 1;
    }
  }
  return false;
}

/** The index of the line terminator that ends a comment (or the end of the text). */
function lineEnd(text: string, from: number): number {
  let at = from;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code === LINE_FEED || code === CARRIAGE_RETURN) return at;
    at += 1;
  }
  return at;
}

/** Just past the `"` closing a string that starts at `from`; a line terminator ends it too (the lexer refuses that). */
function stringEnd(text: string, from: number): number {
  let at = from;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) return at + 1;
    if (code === LINE_FEED || code === CARRIAGE_RETURN) return at;
    // An escape: the next character is part of the string, whatever it is (`\"` does not close it).
    at += code === BACKSLASH ? 2 : 1;
  }
  return at;
}

/** Just past the `"""` closing a block string that starts at `from`; only `\"""` is an escape there. */
function blockStringEnd(text: string, from: number): number {
  let at = from;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code === QUOTE && text.charCodeAt(at + 1) === QUOTE && text.charCodeAt(at + 2) === QUOTE) return at + 3;
    if (code === BACKSLASH && text.startsWith('"""', at + 1)) at += 4;
    else at += 1;
  }
  return at;
}

/** Whether a JSON value nests arrays and objects deeper than `max` levels (an iterative walk: any depth is safe to ask about). */
export function jsonNestsDeeperThan(value: unknown, max: number): boolean {
  // The variables object itself is level 1: `{"v": [[1]]}` nests three levels.
  return findInJson(value, (item, depth, isKey) => (!isKey && item !== null && typeof item === 'object' && depth + 1 > max ? true : undefined)) === true;
}
