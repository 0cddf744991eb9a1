import {
  dependencyOrder,
  dependencySpec,
  dependentsOf,
  MAX_ORDER_IDS,
  referencesOf,
  requireAll,
  resolveDependencies,
  type Component,
  type ComponentDependency,
  type MissingDependency,
} from '../../registry/components/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { ComponentRef } from './component.js';

const ComponentDependencyRef = builder.objectRef<ComponentDependency>('ComponentDependency').implement({
  description: 'A declared dependency: another component by id or name, with a semver range ("*" for any version).',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The component id or name depended on (an id match wins over a name match).' }),
    range: t.exposeString('range'),
    spec: t.string({ description: 'As written: "name" or "name@range".', resolve: (dependency) => dependencySpec(dependency) }),
  }),
});

const MissingDependencyRef = builder.objectRef<MissingDependency>('MissingDependency').implement({
  description: 'A dependency nothing registered satisfies (yet).',
  fields: (t) => ({
    name: t.exposeString('name'),
    range: t.exposeString('range'),
    availableVersions: t.exposeStringList('availableVersions', { description: 'Registered versions of that name, none in range; newest first.' }),
  }),
});

/** Resolution needs every component each dependency may mean: one batched load for the whole request. */
async function resolutionOf(component: Component, context: GraphQLContext) {
  const candidates = await context.loaders.componentsByReference.loadMany(component.dependencies.map((dependency) => dependency.name));
  return resolveDependencies(
    component,
    candidates.flatMap((entry) => (entry instanceof Error ? [] : entry)),
  );
}

builder.objectFields(ComponentRef, (t) => ({
  dependencies: t.expose('dependencies', { type: [ComponentDependencyRef] }),
  resolvedDependencies: t.field({
    type: [ComponentRef],
    description: 'What each dependency resolves to: the highest registered version in its range.',
    resolve: async (component, _args, context) => (await resolutionOf(component, context)).resolved.map((entry) => entry.component),
  }),
  missingDependencies: t.field({
    type: [MissingDependencyRef],
    description: 'Dependencies nothing registered satisfies. Components may arrive in any order; this says what is still missing.',
    resolve: async (component, _args, context) => (await resolutionOf(component, context)).missing,
  }),
  dependents: t.field({
    type: [ComponentRef],
    description: 'Components whose dependencies resolve to this one (reverse edges).',
    resolve: async (component, _args, context) => {
      // A dependent may name this component by its id or by its name.
      const references = referencesOf(component);
      const [declaring, candidates] = await Promise.all([
        context.loaders.componentsDependingOn.loadMany(references).then(flatUnique),
        context.loaders.componentsByReference.loadMany(references).then(flatUnique),
      ]);
      return dependentsOf(component, declaring, candidates);
    },
  }),
}));

builder.queryFields((t) => ({
  dependencyOrder: t.field({
    type: [ComponentRef],
    description:
      'A start order for these components and everything they depend on: dependencies first. CONFLICT names the cycle, or the dependency that is missing.',
    args: { ids: t.arg.idList({ required: true }) },
    resolve: async (_root, args, context) => {
      const ids = args.ids.slice(0, MAX_ORDER_IDS + 1); // a longer list is refused without loading it
      const roots = requireAll(args.ids, ids.length > MAX_ORDER_IDS ? [] : await ComponentRef.getDataloader(context).loadMany(ids).then(withoutErrors));
      return dependencyOrder(roots, async (references) =>
        (await context.loaders.componentsByReference.loadMany(references).then(withoutErrors)).flatMap((group) => group ?? []),
      );
    },
  }),
}));

function withoutErrors<T>(results: (T | Error)[]): (T | null)[] {
  return results.map((result) => (result instanceof Error ? null : result));
}

/** Loaded groups as one list, each component once (a loader error fails the field). */
function flatUnique(groups: (Component[] | Error)[]): Component[] {
  const byId = new Map<string, Component>();
  for (const group of groups) {
    if (group instanceof Error) throw group;
    for (const component of group) byId.set(component.id, component);
  }
  return [...byId.values()];
}
