import { GraphQLError, Kind, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Refuses, for every operation, any string PostgreSQL cannot store faithfully: a
 * NUL character (text columns reject it outright) or an unpaired UTF-16 surrogate
 * (it would be silently replaced). Checked once, on the variables and the literals
 * in the document, so no argument anywhere can turn such input into a 500.
 */
export function useRejectUnstorableText(): Plugin {
  const check = (document: DocumentNode, variables: unknown) => {
    const problem = literalProblem(document) ?? valueProblem(variables);
    if (problem) throw new GraphQLError(`The request contains ${problem}, which the registry cannot store.`, { extensions: { code: 'BAD_USER_INPUT' } });
  };
  return {
    onExecute: ({ args }) => check(args.document, args.variableValues),
    onSubscribe: ({ args }) => check(args.document, args.variableValues),
  };
}

function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a NUL character';
  if (!text.isWellFormed()) return 'invalid Unicode (an unpaired surrogate)';
  return undefined;
}

/** Parsed documents are shared (yoga's parser cache), so each is walked once. */
const literalProblems = new WeakMap<DocumentNode, string | null>();

function literalProblem(document: DocumentNode): string | undefined {
  let problem = literalProblems.get(document);
  if (problem === undefined) {
    problem = null;
    visit(document, {
      [Kind.STRING]: (node) => {
        problem ??= textProblem(node.value) ?? null;
      },
    });
    literalProblems.set(document, problem);
  }
  return problem ?? undefined;
}

/** Walks any JSON-like value without recursion (a deeply nested value must not overflow the stack). */
function valueProblem(root: unknown): string | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (problem) return problem;
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const problem = textProblem(key);
        if (problem) return problem;
        stack.push(item);
      }
    }
  }
  return undefined;
}
