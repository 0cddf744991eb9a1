import { Option, type Command } from 'commander';
import { CliComponentGraphDocument, ComponentsDocument, type CliComponentGraphQuery, type ComponentType } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { color, print } from '../output.js';
import { emit, examples, notFound, printTable, withClient } from './session.js';

const TYPES: ComponentType[] = ['STEP', 'TRANSFORMER', 'VALIDATOR', 'FLOW', 'MIDDLEWARE', 'PLUGIN'];

type GraphComponent = CliComponentGraphQuery['components'][number];

/** One edge of `deps`' tree: a declared dependency and what it resolved to (or why not). */
export interface DependencyNode {
  /** As declared: "name" or "name@range". */
  spec: string;
  /** resolved: found (its own dependencies follow); missing: nothing registered satisfies it; cycle: leads back to a component on this path; repeated: shown in full above. */
  status: 'resolved' | 'missing' | 'cycle' | 'repeated';
  id?: string;
  name: string;
  version?: string;
  range: string;
  /** For a missing one: the versions registered under that name, none in range. */
  availableVersions?: string[];
  dependencies?: DependencyNode[];
}

/** switchboard components [--type], switchboard deps <component>. */
export function registerComponentCommands(program: Command): void {
  const components = program
    .command('components')
    .description('List the catalogued framework components (steps, transformers, validators, flows, middleware, plugins).')
    .addOption(new Option('--type <type>', 'only components of this type').choices(TYPES))
    .option('--name <name>', 'only components with this name (every version, newest first)')
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = optionsOf<{ type?: ComponentType; name?: string }>(command);
        const { components } = await withClient(options, (client) =>
          client.request(ComponentsDocument, { type: options.type ?? null, name: options.name ?? null }),
        );
        emit(options, components, (rows) =>
          printTable(
            ['ID', 'TYPE', 'NAME', 'VERSION', 'DEPENDS ON'],
            rows.map((row) => [row.id, row.type, row.name, row.version, row.dependencies.map((dependency) => dependency.spec).join(', ')]),
            'no components registered',
          ),
        );
      }),
    );
  examples(withConnection(components), ['switchboard components', 'switchboard components --type STEP --json']);

  const deps = program
    .command('deps')
    .description("Show a component's dependencies as a tree, as the registry resolves them now: missing ones and cycles marked.")
    .argument('<component>', 'a component id, or a name (its newest version)')
    .action(
      action(async (reference: string, _options: unknown, command: Command) => {
        const options = optionsOf(command);
        const { components } = await withClient(options, (client) => client.request(CliComponentGraphDocument));
        // An id wins over a name; the catalogue lists a name's versions newest first.
        const root = components.find((component) => component.id === reference) ?? components.find((component) => component.name === reference);
        if (!root) throw notFound(`no component has the id or name "${reference}"`);
        const tree = { id: root.id, type: root.type, name: root.name, version: root.version, dependencies: dependencyTree(root, components) };
        emit(options, tree, () => {
          print(`${color.bold(root.name)} ${root.version} ${color.dim(`(${root.type}, ${root.id})`)}`);
          printTree(tree.dependencies, '');
        });
      }),
    );
  examples(withConnection(deps), ['switchboard deps checkout-flow', 'switchboard deps checkout-flow --json']);
}

/**
 * The dependency tree under `root`, from the registry's own resolution (each component's resolved and missing
 * dependencies). A dependency leading back to a component on the current path is a cycle and is not followed;
 * a component already expanded elsewhere is marked repeated rather than expanded again.
 */
export function dependencyTree(root: GraphComponent, components: readonly GraphComponent[]): DependencyNode[] {
  const byId = new Map(components.map((component) => [component.id, component]));
  const expanded = new Set<string>();
  const walk = (component: GraphComponent, path: Set<string>): DependencyNode[] =>
    component.dependencies.map((dependency) => {
      // The server resolves by id first, then by name: the same rule picks the edge out of its answer.
      const target =
        component.resolvedDependencies.find((resolved) => resolved.id === dependency.name) ??
        component.resolvedDependencies.find((resolved) => resolved.name === dependency.name);
      const base = { spec: dependency.spec, name: dependency.name, range: dependency.range };
      if (!target) {
        const missing = component.missingDependencies.find((entry) => entry.name === dependency.name);
        return { ...base, status: 'missing', availableVersions: missing?.availableVersions ?? [] };
      }
      const found = { ...base, id: target.id, version: target.version };
      if (path.has(target.id)) return { ...found, status: 'cycle' };
      if (expanded.has(target.id)) return { ...found, status: 'repeated' };
      expanded.add(target.id);
      const next = byId.get(target.id);
      return { ...found, status: 'resolved', dependencies: next ? walk(next, new Set([...path, target.id])) : [] };
    });
  expanded.add(root.id);
  return walk(root, new Set([root.id]));
}

function printTree(nodes: readonly DependencyNode[], indent: string): void {
  nodes.forEach((node, index) => {
    const last = index === nodes.length - 1;
    print(`${indent}${last ? '└── ' : '├── '}${describe(node)}`);
    if (node.dependencies?.length) printTree(node.dependencies, `${indent}${last ? '    ' : '│   '}`);
  });
}

function describe(node: DependencyNode): string {
  switch (node.status) {
    case 'missing': {
      const available = node.availableVersions?.length ? ` (registered: ${node.availableVersions.join(', ')})` : '';
      return `${node.spec}  ${color.red('MISSING')}${color.dim(available)}`;
    }
    case 'cycle':
      return `${node.spec} → ${node.id} ${node.version}  ${color.red('CYCLE')}`;
    case 'repeated':
      return `${node.spec} → ${node.id} ${node.version}  ${color.dim('(shown above)')}`;
    default:
      return `${node.spec} → ${node.id} ${node.version}`;
  }
}
