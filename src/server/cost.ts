import { costLimitRule, type CostLimitOptions } from '@escape.tech/graphql-armor-cost-limit';
import { Kind, visit, type ASTVisitor, type DocumentNode, type FragmentDefinitionNode, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { EVENT_PAGE_MAX } from '../events/read.js';
import { HISTORY_PAGE_MAX as CONFIG_HISTORY_PAGE_MAX } from '../registry/config/read.js';
import { HISTORY_PAGE_MAX as HEALTH_HISTORY_PAGE_MAX } from '../registry/health/transitions.js';

/** The largest page any `first`/`last` argument admits (the resolvers refuse more). */
export const PAGE_SIZE_MAX = Math.max(EVENT_PAGE_MAX, CONFIG_HISTORY_PAGE_MAX, HEALTH_HISTORY_PAGE_MAX);

/**
 * graphql-armor's cost limit, with a page size given as a variable counted as the
 * largest page. The library multiplies a field's cost by `first`/`last` only when it
 * is a literal, so `events(first: $n)` counted as one row whatever `n` was: a
 * variable walked around the limit. Validation sees no variables (and yoga caches
 * its result per document), so the variable's value cannot be used here; its
 * maximum is the one cost that holds for every value it may carry.
 */
export function costLimitCountingVariablesAtMaximum(options: CostLimitOptions): Plugin {
  const rule = costLimitRule(options);
  return {
    onValidate: ({ addValidationRule }) => addValidationRule((context: ValidationContext) => pageSizesAtMaximum(context, rule)),
  };
}

/** Runs the cost rule over the document with every variable page size replaced by PAGE_SIZE_MAX. */
function pageSizesAtMaximum(context: ValidationContext, rule: ReturnType<typeof costLimitRule>): ASTVisitor {
  const original = context.getDocument();
  const rewritten = withVariablePageSizesAtMaximum(original);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of rewritten.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  // The rule reads fragments through the context: give it the rewritten ones.
  const costContext = Object.create(context, { getFragment: { value: (name: string) => fragments.get(name) } }) as ValidationContext;
  const costs = rule(costContext);
  return {
    OperationDefinition: (operation) => {
      costs.onOperationDefinitionEnter(rewritten.definitions[original.definitions.indexOf(operation)] as typeof operation);
    },
  };
}

function withVariablePageSizesAtMaximum(document: DocumentNode): DocumentNode {
  return visit(document, {
    Argument: (argument) =>
      (argument.name.value === 'first' || argument.name.value === 'last') && argument.value.kind === Kind.VARIABLE
        ? { ...argument, value: { kind: Kind.INT, value: String(PAGE_SIZE_MAX) } }
        : undefined,
  });
}
