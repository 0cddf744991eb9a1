import { describeTextFault, findInJson, textFaults } from '@switchboard/contracts';
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
  const [fault] = textFaults(text);
  return fault && describeTextFault(fault);
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

/** Every string in the variables, object keys included (the walk is iterative: deep nesting cannot overflow the stack). */
function valueProblem(variables: unknown): string | undefined {
  return findInJson(variables, (item) => (typeof item === 'string' ? textProblem(item) : undefined));
}
