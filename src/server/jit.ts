import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  BREAK,
  getNamedType,
  GraphQLError,
  isScalarType,
  isValueNode,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type SourceLocation,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { GraphQLContext } from '../graphql/context.js';
import { documentBytes } from './document-cache.js';

type Execute = (args: ExecutionArgs) => unknown;

/**
 * Runs hot queries and mutations (of one root field: see isSerialMutation) through graphql-jit: an operation (a parsed
 * document, which yoga's parser cache shares between requests) is compiled into a
 * plain function once it has run `afterRuns` times, and served by it from then on.
 * One-off queries (someone exploring in GraphiQL) never pay for a compilation.
 *
 * Results, errors and masking are the same either way (test/jit.test.ts); see
 * docs/performance.md for what it gains. Subscriptions stay on graphql-js.
 * Each run served compiled is counted in the context's `counters.compiledRuns`.
 *
 * Compilations are held for at most `maxBytes` of documents (estimated as the parser cache
 * does, see document-cache.ts), least recently used first out: a compiled operation lives
 * exactly as long as the narrowed document below that keys it, and only this cache holds that.
 */
export function useJitForHotOperations(afterRuns: number, maxBytes: number): Plugin {
  const runs = new WeakMap<DocumentNode, number>();
  // Not `customJSONSerializer`: its schema-driven stringify knows only the built-in
  // scalars and fails to compile any operation selecting JSON, DateTime or Duration.
  // A document jit refuses is answered with the errors graphql-js would give; nothing to log.
  const jit = useGraphQlJit({}, { onError: () => {} });
  const operations = new LRUCache<DocumentNode, Map<string | null, DocumentNode>>({
    max: 1024,
    maxSize: maxBytes,
    sizeCalculation: (_narrowed, document) => documentBytes(document.loc?.source.body ?? '', document),
  });

  /**
   * The document narrowed to the operation a request runs (fragments kept). The
   * plugin caches one compilation per document object, whatever operationName asks
   * for: without this, the second operation of a document would run the first's code.
   */
  const operationDocument = (document: DocumentNode, operationName: string | null | undefined): DocumentNode | undefined => {
    let narrowed = operations.get(document);
    if (narrowed?.has(operationName ?? null)) return narrowed.get(operationName ?? null);
    const all = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    // No name with several operations, or an unknown name: graphql-js words that error.
    const chosen = operationName == null ? (all.length === 1 ? all[0] : undefined) : all.find((operation) => operation.name?.value === operationName);
    if (chosen === undefined) return undefined;
    // Always a copy, even of a one-operation document: the compilation is keyed by it, so it
    // goes when this cache lets it go, whoever else (yoga's parser cache) keeps the document.
    const only = {
      ...document,
      definitions: all.length === 1 ? document.definitions : document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === chosen),
    };
    if (narrowed === undefined) operations.set(document, (narrowed = new Map()));
    narrowed.set(operationName ?? null, only); // at most one entry per operation of the document
    return only;
  };

  const compilable = new WeakMap<DocumentNode, boolean>();
  const canCompile = (schema: GraphQLSchema, document: DocumentNode): boolean => {
    let answer = compilable.get(document);
    if (answer === undefined) compilable.set(document, (answer = !hasLiteralReadingVariables(schema, document)));
    return answer;
  };

  const isHot = (document: DocumentNode): boolean => {
    const count = (runs.get(document) ?? 0) + 1;
    runs.set(document, count);
    return count > afterRuns;
  };

  return {
    onExecute(payload) {
      const document = operationDocument(payload.args.document, payload.args.operationName);
      if (document === undefined || !canCompile(payload.args.schema, document) || isSerialMutation(document) || !isHot(document)) return;
      let compiled: Execute | undefined;
      void jit.onExecute!({ ...payload, args: { ...payload.args, document }, setExecuteFn: (execute) => (compiled = execute as Execute) });
      if (compiled === undefined) return;
      const run = compiled;
      const interpreted = payload.executeFn as Execute;
      payload.setExecuteFn(async (args) => {
        const result = (await run({ ...args, document })) as ExecutionResult;
        // No data at all means the request itself was refused (variables that do not
        // coerce): graphql-js words those errors, and marks them 400, as clients know.
        if (!('data' in result)) return interpreted(args);
        (args.contextValue as GraphQLContext).counters.compiledRuns += 1;
        if (!result.errors) return result;
        // graphql-js puts errors first (`{ errors, data }`); graphql-jit, data: the same text either way.
        const { errors, data, ...rest } = result;
        return { errors: errors.map((error) => locatedIn(error, args.document)), data, ...rest };
      });
    },
  };
}

/**
 * A mutation of more than one root field. Its fields run one after another and the first that fails
 * stops the rest (graphql-js, as the spec has it): a client that batches writes (the SDK's outcome
 * reports) learns that those after the failure were not applied, and sends them again. graphql-jit runs
 * the later fields anyway, so they would be applied twice: such mutations stay on graphql-js.
 */
function isSerialMutation(document: DocumentNode): boolean {
  const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (operation?.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'mutation') return false;
  const selections = operation.selectionSet.selections;
  return selections.length > 1 || selections.some((selection) => selection.kind !== Kind.FIELD);
}

/**
 * Whether the operation writes a literal of a scalar whose parseLiteral reads
 * variables (JSON: `value: { limit: $limit }`). graphql-jit parses such a literal
 * once, at compile time, with no variables, so a variable inside it would be lost;
 * and it says so with a bare console.error line on stderr ("Scalar with variable
 * inputs detected…"), which breaks JSON-lines logging. Such operations stay on
 * graphql-js, which parses the literal per request with the request's variables.
 */
function hasLiteralReadingVariables(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      enter(node) {
        if (!isValueNode(node) || node.kind === Kind.VARIABLE) return undefined;
        const type = typeInfo.getInputType();
        const named = type ? getNamedType(type) : undefined;
        if (!isScalarType(named) || named.parseLiteral.length < 2) return undefined;
        found = true;
        return BREAK;
      },
    }),
  );
  return found;
}

/**
 * graphql-jit's errors carry their locations as plain line/column pairs, which are
 * lost when yoga rebuilds errors from nodes or positions; give them positions in
 * the document's source, as graphql-js errors have.
 */
function locatedIn(error: GraphQLError, document: DocumentNode): GraphQLError {
  const source = document.loc?.source;
  if (error.nodes !== undefined || error.positions !== undefined || error.locations === undefined || source === undefined) return error;
  return new GraphQLError(error.message, {
    source,
    positions: error.locations.map((location) => offsetOf(source.body, location)),
    path: error.path ?? null,
    originalError: error.originalError ?? null,
    extensions: error.extensions ?? null,
  });
}

function offsetOf(body: string, { line, column }: SourceLocation): number {
  const lineBreak = /\r\n|[\n\r]/g;
  let lineStart = 0;
  for (let current = 1; current < line && lineBreak.exec(body) !== null; current++) lineStart = lineBreak.lastIndex;
  return lineStart + column - 1;
}
