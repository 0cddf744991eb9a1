import { costLimitRule, type CostLimitOptions } from '@escape.tech/graphql-armor-cost-limit';
import {
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { EVENT_PAGE_MAX } from '../events/read.js';
import { HISTORY_PAGE_MAX as CONFIG_HISTORY_PAGE_MAX } from '../registry/config/read.js';
import { HISTORY_PAGE_MAX as HEALTH_HISTORY_PAGE_MAX } from '../registry/health/transitions.js';

/** The largest page any `first`/`last` argument admits (the resolvers refuse more). */
export const PAGE_SIZE_MAX = Math.max(EVENT_PAGE_MAX, CONFIG_HISTORY_PAGE_MAX, HEALTH_HISTORY_PAGE_MAX);

/**
 * graphql-armor's cost limit, counting every page at the size it will have. The library
 * multiplies a field's cost by `first`/`last` only when it is written as a literal, so
 * `events(first: $n)` counted as one row whatever `n` was, and `events { … }` (100 rows by
 * default) as one too: a variable, or leaving the size out, walked around the limit.
 * - A page size given as a variable counts as the largest page. Validation sees no
 *   variables (and yoga caches its result per document), so the variable's value cannot be
 *   used here; its maximum is the one cost that holds for every value it may carry.
 * - A page size left out counts as the argument's default, read from the schema.
 */
export function costLimitCountingPageSizes(options: CostLimitOptions): Plugin {
  const rule = costLimitRule(options);
  return {
    onValidate: ({ addValidationRule }) => addValidationRule((context: ValidationContext) => pageSizesAtMaximum(context, rule)),
  };
}

/** Runs the cost rule over the document with every page size written out as a literal (see above). */
function pageSizesAtMaximum(context: ValidationContext, rule: ReturnType<typeof costLimitRule>): ASTVisitor {
  const original = context.getDocument();
  const rewritten = withPageSizesWrittenOut(original, context.getSchema());
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

const PAGE_SIZE_ARGUMENTS = new Set(['first', 'last']);

function withPageSizesWrittenOut(document: DocumentNode, schema: GraphQLSchema): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field: (field) => {
        const definition = typeInfo.getFieldDef();
        if (!definition?.args.some((argument) => PAGE_SIZE_ARGUMENTS.has(argument.name))) return undefined;
        const given = (field.arguments ?? []).map((argument) =>
          PAGE_SIZE_ARGUMENTS.has(argument.name.value) && argument.value.kind === Kind.VARIABLE ? literal(argument.name.value, PAGE_SIZE_MAX) : argument,
        );
        const defaults = definition.args
          .filter((argument) => PAGE_SIZE_ARGUMENTS.has(argument.name) && typeof argument.defaultValue === 'number')
          .filter((argument) => !given.some((node) => node.name.value === argument.name))
          .map((argument) => literal(argument.name, argument.defaultValue as number));
        return { ...field, arguments: [...given, ...defaults] };
      },
    }),
  );
}

function literal(name: string, value: number): ArgumentNode {
  return { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: name }, value: { kind: Kind.INT, value: String(value) } };
}
