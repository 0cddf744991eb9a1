import { badInput, conflict, notFound } from '@switchboard/contracts';
import { dependencySpec, type Component } from './model.js';
import { refersTo, resolveDependency } from './resolve.js';

/** Loads every component whose id or name is one of `references`; the caller batches (one query per call). */
export type LoadByReferences = (references: readonly string[]) => Promise<readonly Component[]>;

/**
 * A start order for `roots` and everything they depend on: each component comes
 * after all of its (resolved) dependencies. Walks the graph breadth-first, one
 * batched load per level rather than a query per edge.
 *
 * Fails with CONFLICT when a dependency is missing (nothing could start it) or
 * when the dependencies form a cycle, naming the cycle.
 */
export async function dependencyOrder(roots: readonly Component[], loadByReferences: LoadByReferences): Promise<Component[]> {
  const byId = new Map(roots.map((component) => [component.id, component]));
  const candidatesByReference = new Map<string, Component[]>();
  const edges = new Map<string, string[]>(); // component id -> ids it depends on

  let frontier = [...byId.values()];
  while (frontier.length > 0) {
    const unknown = [...new Set(frontier.flatMap((component) => component.dependencies.map((dependency) => dependency.name)))].filter(
      (reference) => !candidatesByReference.has(reference),
    );
    if (unknown.length > 0) {
      const loaded = await loadByReferences(unknown);
      for (const reference of unknown)
        candidatesByReference.set(
          reference,
          loaded.filter((candidate) => refersTo(reference, candidate)),
        );
    }
    const next: Component[] = [];
    for (const component of frontier) {
      const targets: string[] = [];
      for (const dependency of component.dependencies) {
        const match = resolveDependency(dependency, candidatesByReference.get(dependency.name) ?? []);
        if (!match) {
          throw conflict(`Cannot order ${label(component)}: its dependency ${dependencySpec(dependency)} is not registered.`, {
            component: component.id,
            missing: dependencySpec(dependency),
          });
        }
        targets.push(match.id);
        if (!byId.has(match.id)) {
          byId.set(match.id, match);
          next.push(match);
        }
      }
      edges.set(component.id, targets);
    }
    frontier = next;
  }
  return topologicalOrder(roots, byId, edges);
}

/** Depth-first post-order; a grey node met again closes a cycle, reported in full. */
function topologicalOrder(roots: readonly Component[], byId: Map<string, Component>, edges: Map<string, string[]>): Component[] {
  const order: Component[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];

  const visit = (id: string): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(id)), id].map((member) => label(byId.get(member)!));
      throw conflict(`Dependency cycle: ${cycle.join(' -> ')}.`, { cycle });
    }
    state.set(id, 'visiting');
    path.push(id);
    for (const target of edges.get(id) ?? []) visit(target);
    path.pop();
    state.set(id, 'done');
    order.push(byId.get(id)!);
  };
  for (const root of roots) visit(root.id);
  return order;
}

function label(component: Component): string {
  return `${component.name}@${component.version}`;
}

export const MAX_ORDER_IDS = 1000;

/** Checks the roots of an ordering request: a bounded list, every id known. */
export function requireAll(ids: readonly string[], found: readonly (Component | null | undefined)[]): Component[] {
  if (ids.length > MAX_ORDER_IDS) throw badInput(`At most ${MAX_ORDER_IDS} ids may be ordered at once.`, { field: 'ids' });
  return ids.map((id, index) => {
    const component = found[index];
    if (!component) throw notFound('Component', id);
    return component;
  });
}
