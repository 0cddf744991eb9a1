import type { DependencyGraph } from './lib/graph';

export interface GraphComponent {
  id: string;
  name: string;
  version: string;
  resolvedDependencies: readonly { id: string }[];
  missingDependencies: readonly { name: string; range: string }[];
}

const NODE_WIDTH = 190;
const NODE_HEIGHT = 40;
const COLUMN_GAP = 90;
const ROW_GAP = 16;
const MARGIN = 12;
/** Room right of the last column for the loops a cycle draws there. */
const LOOP_ROOM = 60;

interface Node {
  id: string;
  label: string;
  detail: string;
  kind: 'component' | 'missing' | 'cycle';
  x: number;
  y: number;
}

/** Cuts a label to what a node box holds; the full text is in the node's tooltip. */
function fit(text: string, characters = 24): string {
  return text.length > characters ? `${text.slice(0, characters - 1)}…` : text;
}

/**
 * The dependency graph as an SVG, one column per layer: what depends on nothing on the left,
 * each component right of everything it depends on; arrows point from a component to its
 * dependency. Missing dependencies are dashed boxes in the first column, cycles drawn in red.
 */
export function ComponentGraph({ components, graph }: { components: readonly GraphComponent[]; graph: DependencyGraph }) {
  const columns: Node[][] = [];
  const place = (node: Omit<Node, 'x' | 'y'>) => {
    const layer = graph.layer.get(node.id) ?? 0;
    (columns[layer] ??= []).push({ ...node, x: 0, y: 0 });
  };
  const missing = new Map<string, { name: string; range: string }>();
  for (const component of components) for (const dependency of component.missingDependencies) missing.set(graph.missingId(dependency), dependency);
  for (const [id, dependency] of missing) {
    const spec = dependency.range === '*' ? dependency.name : `${dependency.name}@${dependency.range}`;
    place({ id, label: fit(spec), detail: `${spec}: nothing registered satisfies this dependency`, kind: 'missing' });
  }
  for (const component of components) {
    const cycle = graph.cycleOf.get(component.id);
    place({
      id: component.id,
      label: fit(`${component.name} ${component.version}`),
      detail: `${component.id}${cycle === undefined ? '' : ' (in a dependency cycle)'}`,
      kind: cycle === undefined ? 'component' : 'cycle',
    });
  }
  const position = new Map<string, Node>();
  let rows = 0;
  for (const [layer, column] of columns.entries()) {
    if (!column) continue;
    column.sort((a, b) => ((a.kind === 'missing') !== (b.kind === 'missing') ? (a.kind === 'missing' ? -1 : 1) : a.label.localeCompare(b.label)));
    for (const [row, node] of column.entries()) {
      node.x = MARGIN + layer * (NODE_WIDTH + COLUMN_GAP);
      node.y = MARGIN + row * (NODE_HEIGHT + ROW_GAP);
      position.set(node.id, node);
    }
    rows = Math.max(rows, column.length);
  }
  const width = MARGIN * 2 + LOOP_ROOM + columns.length * NODE_WIDTH + Math.max(0, columns.length - 1) * COLUMN_GAP;
  const height = MARGIN * 2 + rows * NODE_HEIGHT + Math.max(0, rows - 1) * ROW_GAP;

  const edges: { from: Node; to: Node; bad: boolean; key: string }[] = [];
  for (const component of components) {
    const from = position.get(component.id)!;
    const cycle = graph.cycleOf.get(component.id);
    for (const dependency of component.resolvedDependencies) {
      const to = position.get(dependency.id);
      if (to) edges.push({ from, to, bad: cycle !== undefined && graph.cycleOf.get(dependency.id) === cycle, key: `${component.id}->${dependency.id}` });
    }
    for (const dependency of component.missingDependencies) {
      const to = position.get(graph.missingId(dependency));
      if (to) edges.push({ from, to, bad: true, key: `${component.id}->${graph.missingId(dependency)}` });
    }
  }

  return (
    <svg
      class="dependency-graph"
      role="img"
      aria-label="Dependency graph: each arrow points from a component to what it depends on"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
    >
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
        </marker>
        <marker id="arrow-bad" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" class="arrow-head bad" />
        </marker>
      </defs>
      {edges.map(({ from, to, bad, key }) => (
        <path key={key} class={bad ? 'edge bad' : 'edge'} d={edgePath(from, to)} marker-end={bad ? 'url(#arrow-bad)' : 'url(#arrow)'} />
      ))}
      {[...position.values()].map((node) => (
        <g key={node.id} class={`node ${node.kind}`} data-node={node.id}>
          <title>{node.detail}</title>
          <rect x={node.x} y={node.y} width={NODE_WIDTH} height={NODE_HEIGHT} rx="6" />
          <text x={node.x + 10} y={node.y + NODE_HEIGHT / 2 + 5}>
            {node.kind === 'missing' ? `missing: ${node.label}` : node.label}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** From the dependent's left edge to the dependency's right edge; within one column (a cycle), a loop on the right. */
function edgePath(from: Node, to: Node): string {
  const fromY = from.y + NODE_HEIGHT / 2;
  const toY = to.y + NODE_HEIGHT / 2;
  if (from.x === to.x) {
    const right = from.x + NODE_WIDTH;
    const bulge = right + 30 + Math.abs(fromY - toY) / 4;
    if (from === to) return `M${right},${fromY - 8} C${right + 40},${fromY - 30} ${right + 40},${fromY + 30} ${right},${fromY + 8}`;
    return `M${right},${fromY} C${bulge},${fromY} ${bulge},${toY} ${right},${toY}`;
  }
  const startX = from.x;
  const endX = to.x + NODE_WIDTH;
  const middle = (startX + endX) / 2;
  return `M${startX},${fromY} C${middle},${fromY} ${middle},${toY} ${endX},${toY}`;
}
