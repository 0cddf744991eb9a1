import semver from 'semver';

/** A component as ordering sees it: who it is and what it depends on (parsed specs). */
export interface OrderNode {
  id: string;
  name: string;
  version: string;
  dependencies: readonly { name: string; range: string }[];
}

export interface Ordering {
  order: string[];
  /** Cycles met, each as ids with the first repeated at the end; one edge of each is left out of the order. */
  cycles: string[][];
}

/**
 * Dependencies before their dependents, among `nodes` only (a dependency outside them is either live
 * already or missing, and the registry accepts components in any order). Otherwise the input order is
 * kept, so a plan reads like its manifest. Resolution is the registry's: an id in range wins, else the
 * highest version of that name in range (src/registry/components/resolve.ts).
 */
export function registrationOrder(nodes: readonly OrderNode[]): Ordering {
  const edges = new Map(nodes.map((node) => [node.id, node.dependencies.flatMap((dependency) => resolve(dependency, nodes)?.id ?? [])]));
  const order: string[] = [];
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(id)), id]);
      return;
    }
    state.set(id, 'visiting');
    path.push(id);
    for (const target of edges.get(id) ?? []) visit(target);
    path.pop();
    state.set(id, 'done');
    order.push(id);
  };
  for (const node of nodes) visit(node.id);
  return { order, cycles };
}

/** Dependents before their dependencies: the reverse of registration order. */
export function removalOrder(nodes: readonly OrderNode[]): Ordering {
  const { order, cycles } = registrationOrder(nodes);
  return { order: order.reverse(), cycles };
}

function resolve(dependency: { name: string; range: string }, nodes: readonly OrderNode[]): OrderNode | undefined {
  const byId = nodes.find((node) => node.id === dependency.name);
  if (byId && semver.satisfies(byId.version, dependency.range)) return byId;
  let best: OrderNode | undefined;
  for (const node of nodes) {
    if (node.name !== dependency.name || !semver.satisfies(node.version, dependency.range)) continue;
    if (!best || semver.gt(node.version, best.version)) best = node;
  }
  return best;
}
