import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The layer rules of eslint.config.js (the layers docs/architecture.md describes), each shown
// to reject an import across its boundary and to let a neighbouring import through. The files
// need not exist: only their directory (or, directly under src/, their name) decides which
// rules apply.
const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

async function lintMessages(file: string, code: string, ruleId: string): Promise<ESLint.LintResult['messages']> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.filter((message) => message.ruleId === ruleId);
}

async function layerErrors(file: string, source: string): Promise<string[]> {
  const code = `import { thing } from '${source}';\nexport { thing };\n`;
  return (await lintMessages(file, code, 'no-restricted-imports')).map((message) => message.message);
}

const cases = [
  { rule: 'packages → src', file: 'packages/client/src/probe.ts', forbidden: '../../../src/errors.js', allowed: './index.js' },
  { rule: 'packages → src', file: 'packages/contracts/src/probe.ts', forbidden: 'switchboard/dist/cli/main.js', allowed: 'zod' },
  { rule: 'contracts → anything of ours', file: 'packages/contracts/src/probe.ts', forbidden: '@switchboard/client', allowed: 'semver' },
  { rule: 'client → contracts only', file: 'packages/client/src/probe.ts', forbidden: '@switchboard/sdk', allowed: '@switchboard/contracts' },
  { rule: 'contracts, client → no Node built-ins', file: 'packages/contracts/src/probe.ts', forbidden: 'node:crypto', allowed: 'zod' },
  { rule: 'contracts, client → no Node built-ins', file: 'packages/client/src/probe.ts', forbidden: 'events', allowed: 'graphql-ws' },
  { rule: 'examples → packages by name', file: 'examples/payments/probe.ts', forbidden: '../../src/registry/services/index.js', allowed: '@switchboard/sdk' },
  { rule: 'examples → packages by name', file: 'examples/payments/probe.ts', forbidden: '@switchboard/sdk/dist/index.js', allowed: './http.js' },
  { rule: 'examples → packages by name', file: 'examples/payments/probe.ts', forbidden: '../../packages/sdk/src/index.js', allowed: 'ws' },
  { rule: 'APIs → db, but its handle', file: 'src/graphql/schema/probe.ts', forbidden: '../../db/schema.js', allowed: '../../db/handle.js' },
  { rule: 'APIs → db, but its handle', file: 'src/graphql/probe.ts', forbidden: '../db/errors.js', allowed: '../registry/services/index.js' },
  { rule: 'APIs → db, but its handle', file: 'src/consul/probe.ts', forbidden: '../db/client.js', allowed: '../db/handle.js' },
  { rule: 'APIs → db, but its handle', file: 'src/consul/routes/probe.ts', forbidden: '../../db', allowed: '../../db/handle.ts' },
  // The server mounts the APIs; what they need of a request is below them, in src/http.
  { rule: 'layer order: APIs', file: 'src/graphql/probe.ts', forbidden: '../server/http.js', allowed: '../http/deadline.js' },
  { rule: 'layer order: APIs', file: 'src/graphql/probe.ts', forbidden: '../cli/run.js', allowed: './builder.js' },
  { rule: 'layer order: APIs', file: 'src/consul/probe.ts', forbidden: '../server/graphql.js', allowed: '../http/body.js' },
  { rule: 'layer order: APIs', file: 'src/consul/routes/probe.ts', forbidden: '../../graphql/context.js', allowed: '../../registry/catalog/index.js' },
  { rule: 'layer order: APIs', file: 'src/consul/probe.ts', forbidden: '../metrics/server.js', allowed: '../events/feed.js' },
  { rule: 'layer order: HTTP', file: 'src/http/probe.ts', forbidden: '../consul/request.js', allowed: '../request-signal.js' },
  { rule: 'layer order: HTTP', file: 'src/http/probe.ts', forbidden: '../server/graphql.js', allowed: './body.js' },
  { rule: 'http → domain, db', file: 'src/http/probe.ts', forbidden: '../registry/access/index.js', allowed: 'graphql-yoga' },
  { rule: 'http → domain, db', file: 'src/http/probe.ts', forbidden: '../db/transaction.js', allowed: '../logger.js' },
  { rule: 'probes → db', file: 'src/checker/probes/probe.ts', forbidden: '../../db/schema.js', allowed: '../../registry/health/model.js' },
  // src/registry/health is domain, src/checker runs the checks.
  { rule: 'layer order: domain', file: 'src/registry/services/probe.ts', forbidden: '../../checker/worker.js', allowed: '../health/model.js' },
  { rule: 'layer order: domain', file: 'src/registry/probe.ts', forbidden: '../http/body.js', allowed: '../request-signal.js' },
  { rule: 'layer order: event log', file: 'src/events/probe.ts', forbidden: '../graphql/context.js', allowed: '../db/client.js' },
  { rule: 'layer order: event log', file: 'src/events/probe.ts', forbidden: '../registry/access/index.js', allowed: '../periodic.js' },
  { rule: 'layer order: database', file: 'src/db/probe.ts', forbidden: '../registry/services/index.js', allowed: 'drizzle-orm' },
  { rule: 'layer order: database', file: 'src/db/schema/probe.ts', forbidden: '../../events/types.js', allowed: '../../request-signal.js' },
  { rule: 'layer order: started by the process', file: 'src/settings.ts', forbidden: './server/node.js', allowed: './registry/health/policy.js' },
  { rule: 'layer order: started by the process', file: 'src/checker/probe.ts', forbidden: '../settings.js', allowed: '../metrics/health.js' },
  { rule: 'layer order: helpers', file: 'src/request-signal.ts', forbidden: './db/transaction.js', allowed: './logger.js' },
  { rule: 'layer order: logger', file: 'src/logger.ts', forbidden: './periodic.js', allowed: 'pino' },
  // Below the top, the direction the code goes in is kept: src/registry/services imports src/registry/instances.
  {
    rule: 'no cycle: src/registry/instances → src/registry/services',
    file: 'src/registry/instances/probe.ts',
    forbidden: '../services/index.js',
    allowed: '../access/index.js',
  },
  {
    rule: 'no cycle: src/registry/access → src/registry/tokens',
    file: 'src/registry/access/probe.ts',
    forbidden: '../tokens/model.js',
    allowed: './principal.js',
  },
];

describe('layer boundaries', () => {
  it.each(cases)('$rule: $file may not import $forbidden', async ({ rule, file, forbidden }) => {
    const errors = await layerErrors(file, forbidden);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`Layer rule "${rule}"`);
  });

  it.each(cases)('$rule: $file may import $allowed', async ({ file, allowed }) => {
    expect(await layerErrors(file, allowed)).toEqual([]);
  });

  it.each([
    { file: 'src/server/probe.ts', source: '../db/client.js' },
    { file: 'src/server/probe.ts', source: '../consul/index.js' },
    { file: 'src/cli/probe.ts', source: '../server/node.js' },
    { file: 'src/cli/probe.ts', source: '../graphql/schema/index.js' },
    { file: 'src/checker/worker-probe.ts', source: '../db/client.js' },
    { file: 'test/probe.test.ts', source: '../src/graphql/context.js' },
    { file: 'bench/probe.ts', source: '../src/db/schema.js' },
  ])('$file may import $source', async ({ file, source }) => {
    expect(await layerErrors(file, source)).toEqual([]);
  });
});

/** What the lint says of a probe file that exports `code`. */
const reexportErrors = async (file: string, code: string) => (await lintMessages(file, code, 'switchboard/no-reexport')).map((message) => message.message);

describe('the domain re-exports nothing of src/db', () => {
  // The APIs may take from src/db only what src/db/handle.ts exports; the domain, which may import
  // src/db, must not pass the rest on to them.
  it.each([
    { file: 'src/registry/probe.ts', code: "export { toDomainError } from '../db/errors.js';\n" },
    { file: 'src/registry/services/probe.ts', code: "export type { Db } from '../../db/client.js';\n" },
    { file: 'src/registry/probe.ts', code: "export * from '../db/handle.js';\n" },
    { file: 'src/events/probe.ts', code: "import { isConnectionError } from '../db/errors.js';\nexport { isConnectionError };\n" },
    { file: 'src/registry/probe.ts', code: "import * as errors from '../db/errors.js';\nexport const toDomainError = errors.toDomainError;\n" },
    { file: 'src/registry/probe.ts', code: "import type { Db } from '../db/client.js';\nexport type RegistryDb = Db;\n" },
    { file: 'src/registry/probe.ts', code: "import { toDomainError } from '../db/errors.js';\nexport default toDomainError;\n" },
  ])('$file may not export $code', async ({ file, code }) => {
    const errors = await reexportErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('Layer rule "domain re-exports nothing of db"');
  });

  it.each([
    { file: 'src/registry/probe.ts', code: "import { runTransaction } from '../db/transaction.js';\nexport const write = () => runTransaction;\n" },
    { file: 'src/registry/probe.ts', code: "export { lockInstance } from './instances/lock.js';\n" },
    { file: 'src/server/probe.ts', code: "export { toDomainError } from '../db/errors.js';\n" },
  ])('$file may export $code', async ({ file, code }) => {
    expect(await reexportErrors(file, code)).toEqual([]);
  });

  it("src/db/handle.ts, the APIs' door to src/db, lets through the type of the handle and how to name a database error, nothing more", () => {
    const source = ts.createSourceFile('handle.ts', readFileSync(path.join(root, 'src/db/handle.ts'), 'utf8'), ts.ScriptTarget.Latest);
    const exported = source.statements.flatMap((statement) => {
      if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
        return statement.exportClause.elements.map((element) => `${statement.isTypeOnly || element.isTypeOnly ? 'type ' : ''}${element.name.text}`);
      }
      const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
      return modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword) || ts.isExportDeclaration(statement) ? ['(another export)'] : [];
    });
    expect(exported.sort()).toEqual(['isConnectionError', 'toDomainError', 'type Db']);
  });
});

// The folders of src/, as the code stands: which folder imports which, read from the import
// statements (relative ones, resolved to the files they name). At the top, the folders and
// the files directly under src/ (src/settings.ts, src/logger.ts) are the nodes; in every folder
// below, its subfolders are (its own files belong to it, and a cycle between two files is not
// a cycle between folders).

const src = path.join(root, 'src');

const sourceFiles = readdirSync(src, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && /\.[cm]?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
  .map((entry) => path.join(entry.parentPath, entry.name));

const isFile = (file: string) => existsSync(file) && statSync(file).isFile();

/** The file a relative specifier names: written as it will be run (.js), as the source (.ts), or a folder's index. */
function resolveSpecifier(importer: string, specifier: string): string | undefined {
  const target = path.resolve(path.dirname(importer), specifier);
  const candidates = [target, target.replace(/\.(c|m)?js$/, '.$1ts'), `${target}.ts`, path.join(target, 'index.ts')];
  return candidates.find(isFile);
}

interface Import {
  importer: string;
  specifier: string;
  file: string | undefined;
}

const relativeImports: Import[] = sourceFiles.flatMap((importer) =>
  ts
    .preProcessFile(readFileSync(importer, 'utf8'), true, true)
    .importedFiles.map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith('./') || specifier.startsWith('../'))
    .map((specifier) => ({ importer, specifier, file: resolveSpecifier(importer, specifier) })),
);

/** The node under `parent` that holds `file`: its folder there; a file directly in src/ is a node of its own. */
function nodeUnder(parent: string, file: string): string | undefined {
  const relative = path.relative(parent, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const [first, ...rest] = relative.split(path.sep);
  if (rest.length > 0) return first;
  return parent === src ? first : undefined;
}

type Graph = Map<string, Map<string, string>>;

/** Which node imports which under `parent`, each edge with one import that makes it (for the message). */
function graphUnder(parent: string): Graph {
  const graph: Graph = new Map();
  for (const { importer, specifier, file } of relativeImports) {
    const from = nodeUnder(parent, importer);
    const to = file === undefined ? undefined : nodeUnder(parent, file);
    if (from === undefined || to === undefined || from === to) continue;
    const edges = graph.get(from) ?? new Map<string, string>();
    if (!edges.has(to)) edges.set(to, `${path.relative(root, importer)} imports '${specifier}'`);
    graph.set(from, edges);
  }
  return graph;
}

/** A cycle of `graph` (its nodes, the first repeated at the end), or undefined. */
function findCycle(graph: Graph): string[] | undefined {
  const done = new Set<string>();
  const trail: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const open = trail.indexOf(node);
    if (open >= 0) return [...trail.slice(open), node];
    if (done.has(node)) return undefined;
    trail.push(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    trail.pop();
    done.add(node);
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

const describeCycle = (graph: Graph, cycle: string[]) =>
  cycle
    .slice(1)
    .map((to, index) => `${cycle[index]} → ${to} (${graph.get(cycle[index]!)!.get(to)})`)
    .join('\n');

const folders = [
  src,
  ...readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(entry.parentPath, entry.name)),
];

describe('no folder imports a folder that imports it back', () => {
  it('every relative import names a file that exists', () => {
    expect(
      relativeImports.filter(({ file }) => file === undefined).map(({ importer, specifier }) => `${path.relative(root, importer)}: '${specifier}'`),
    ).toEqual([]);
  });

  it.each(folders.map((folder) => ({ folder: path.relative(root, folder) })))('in $folder', ({ folder }) => {
    const graph = graphUnder(path.join(root, folder));
    const cycle = findCycle(graph);
    expect(cycle && `a cycle:\n${describeCycle(graph, cycle)}`).toBeUndefined();
  });

  it('the real graph is read: src/server imports src/consul, src/consul imports src/http', () => {
    const graph = graphUnder(src);
    expect(graph.get('server')?.has('consul')).toBe(true);
    expect(graph.get('consul')?.has('http')).toBe(true);
    expect(graph.get('registry')?.has('events')).toBe(true);
  });

  it('a cycle is found, and named with the imports that make it', () => {
    const graph: Graph = new Map([
      ['server', new Map([['consul', 'src/server/http.ts imports ../consul/index.js']])],
      ['consul', new Map([['server', 'src/consul/request.ts imports ../server/body.js']])],
    ]);
    const cycle = findCycle(graph)!;
    expect(cycle).toEqual(['server', 'consul', 'server']);
    expect(describeCycle(graph, cycle)).toContain('consul → server (src/consul/request.ts imports ../server/body.js)');
  });

  // The lint, for its part, refuses every import that would make a cycle between the folders
  // (and files) directly under src/: whatever it lets through, no cycle can be made of. So
  // a new folder has to take its place in layerOrder (eslint.config.js) before this passes.
  it('the lint lets no cycle through between the entries of src/', async () => {
    const entries = readdirSync(src, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() || /\.[cm]?ts$/.test(entry.name))
      .map((entry) => entry.name);
    const allowed: Graph = new Map();
    for (const from of entries) {
      const isFolder = statSync(path.join(src, from)).isDirectory();
      const up = isFolder ? '../' : './';
      const targets = entries.filter((to) => to !== from);
      const specifiers = targets.map((to) => (statSync(path.join(src, to)).isDirectory() ? `${up}${to}/index.js` : `${up}${to.replace(/\.ts$/, '.js')}`));
      const code =
        specifiers.map((specifier, index) => `import * as probe${index} from '${specifier}';\n`).join('') +
        `export { ${specifiers.map((_, index) => `probe${index}`).join(', ')} };\n`;
      const refused = new Set(
        (await lintMessages(isFolder ? `src/${from}/probe.ts` : `src/${from}`, code, 'no-restricted-imports')).map(({ line }) => line - 1),
      );
      allowed.set(from, new Map(targets.flatMap((to, index) => (refused.has(index) ? [] : [[to, `the lint lets src/${from} import '${specifiers[index]}'`]]))));
    }
    const cycle = findCycle(allowed);
    expect(
      cycle && `the lint lets a cycle through (place every entry of src/ in layerOrder, eslint.config.js):\n${describeCycle(allowed, cycle)}`,
    ).toBeUndefined();
    // And it is not so because it refuses everything.
    expect(allowed.get('server')?.has('consul')).toBe(true);
  });
});
