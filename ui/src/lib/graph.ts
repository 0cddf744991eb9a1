/** A component as the graph needs it: its id and the ids its dependencies resolve to. */
export interface GraphInput {
  id: string;
  resolvedDependencies: readonly { id: string }[];
  missingDependencies: readonly { name: string; range: string }[];
}

export interface DependencyGraph {
  /** Each cycle's component ids (a strongly connected group, or one component depending on itself). */
  cycles: string[][];
  /** Component id → the index of its cycle in `cycles`. */
  cycleOf: Map<string, number>;
  /**
   * Layer of each node: 0 for what depends on nothing registered (and for missing dependencies),
   * else one more than its deepest dependency. The members of a cycle share a layer.
   */
  layer: Map<string, number>;
  /** Node id of a missing dependency ("name@range" prefixed so it never meets a component id). */
  missingId(dependency: { name: string; range: string }): string;
}

export function missingNodeId(dependency: { name: string; range: string }): string {
  return `missing:${dependency.name}@${dependency.range}`;
}

/** Cycles (Tarjan's strongly connected components) and layers by dependency depth. */
export function analyseGraph(components: readonly GraphInput[]): DependencyGraph {
  const edges = new Map(components.map((component) => [component.id, component.resolvedDependencies.map((dependency) => dependency.id)]));

  // Tarjan: `group` numbers each strongly connected component; groups come out dependencies first.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const group = new Map<string, number>();
  let counter = 0;
  const visit = (id: string) => {
    index.set(id, counter);
    low.set(id, counter);
    counter++;
    stack.push(id);
    onStack.add(id);
    for (const next of edges.get(id) ?? []) {
      if (!edges.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(id, Math.min(low.get(id)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(id, Math.min(low.get(id)!, index.get(next)!));
      }
    }
    if (low.get(id) === index.get(id)) {
      const members: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.set(member, groups.length);
        members.push(member);
      } while (member !== id);
      groups.push(members);
    }
  };
  for (const id of edges.keys()) if (!index.has(id)) visit(id);

  const cycles: string[][] = [];
  const cycleOf = new Map<string, number>();
  for (const members of groups) {
    const selfLoop = members.length === 1 && edges.get(members[0]!)!.includes(members[0]!);
    if (members.length < 2 && !selfLoop) continue;
    for (const member of members) cycleOf.set(member, cycles.length);
    cycles.push(members.sort());
  }

  // Groups are numbered dependencies first, so one pass in that order sees every dependency's layer.
  const groupLayer: number[] = [];
  const layer = new Map<string, number>();
  const byComponent = new Map(components.map((component) => [component.id, component]));
  for (const [number, members] of groups.entries()) {
    let deepest = -1;
    for (const member of members) {
      for (const next of edges.get(member)!) {
        const other = group.get(next);
        if (other !== undefined && other !== number) deepest = Math.max(deepest, groupLayer[other]!);
      }
      // A missing dependency sits in layer 0, below what waits for it.
      if (byComponent.get(member)!.missingDependencies.length > 0) deepest = Math.max(deepest, 0);
    }
    groupLayer[number] = deepest + 1;
    for (const member of members) layer.set(member, deepest + 1);
  }
  for (const component of components) for (const dependency of component.missingDependencies) layer.set(missingNodeId(dependency), 0);

  return { cycles, cycleOf, layer, missingId: missingNodeId };
}
