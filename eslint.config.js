// @ts-check
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import ts from 'typescript';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

const ignored = [
  '**/dist/',
  '**/node_modules/',
  'packages/client/src/generated/',
  'ui/src/generated/',
  'src/client/generated/',
  'drizzle/',
  '.switchboard/',
  'coverage/',
  // Test output: the report, and the documentation's TypeScript examples written out for the compiler.
  '.vitest/',
];

const ourPackages = readdirSync(path.join(root, 'packages'));
const nodeBuiltins = `^(node:|(${builtinModules.filter((name) => !name.startsWith('_') && !name.includes('/')).join('|')})(/|$))`;

/**
 * The layers of src/, top to bottom (docs/architecture.md describes them). What a layer holds
 * imports only what lies on the layers below it: never a layer above, nor a neighbour on its own
 * layer. So no two of them import each other, and the lint refuses the import that would close a
 * cycle. Every folder and file directly under src/ has its place here (test/boundaries.test.ts
 * fails until a new one has).
 */
const layerOrder = [
  { name: 'commands', entries: ['src/cli'], why: 'the commands start a process; nothing imports them' },
  {
    name: 'build',
    entries: ['src/build'],
    why: 'the build-time tools (scan, check, generate, plan) read source code and manifests for the commands; they reuse pure domain functions, and only the commands import them',
  },
  {
    name: 'process',
    entries: ['src/server'],
    why: 'the process mounts the APIs on its HTTP server and starts the workers; none of them imports it back',
  },
  {
    name: 'started by the process',
    entries: ['src/checker', 'src/alerts', 'src/settings.ts'],
    why: 'the health-check pool, the alert evaluator and webhook sender, and the settings read from the environment: the process starts or reads each, and each stands alone',
  },
  {
    name: 'metrics',
    entries: ['src/metrics'],
    why: 'the Prometheus collectors read the domain, the event feed and the GraphQL counters; the process and the health-check pool feed them',
  },
  {
    name: 'APIs',
    entries: ['src/graphql', 'src/consul'],
    why: 'the GraphQL API and the Consul-compatible API sit side by side: each translates requests into domain calls (src/registry), neither goes through the other, and the server mounts both (what they need of a request is in src/http)',
  },
  {
    name: 'HTTP',
    entries: ['src/http'],
    why: 'what both APIs need of a request (reading its body, its deadline, the limits on its document) sits below both',
  },
  {
    name: 'domain',
    entries: ['src/registry'],
    why: 'the domain knows nothing of GraphQL, HTTP or the processes that call it: plain inputs in, domain objects out',
  },
  {
    name: 'event log',
    entries: ['src/events'],
    why: 'the domain appends to the event log and the feed reads it; who may publish what is the domain’s to say',
  },
  {
    name: 'database',
    entries: ['src/db'],
    why: 'src/db is the bottom of the server (tables, transactions, driver errors) and the domain builds on it',
  },
  {
    name: 'helpers',
    entries: ['src/periodic.ts', 'src/wake-loop.ts', 'src/timers.ts', 'src/net.ts', 'src/request-signal.ts'],
    why: 'helpers any layer may use (timers, addresses, the signal of the request a piece of work runs for) know nothing of what uses them',
  },
  { name: 'logger', entries: ['src/logger.ts'], why: 'everything logs, and the logger uses nothing of ours' },
];

/** One rule per entry of layerOrder: the entries above its layer and beside it are out of reach. */
const orderRules = layerOrder.flatMap((layer, index) =>
  layer.entries.map((entry) => ({
    rule: `layer order: ${layer.name}`,
    from: [entry],
    dirs: [...layerOrder.slice(0, index).flatMap((above) => above.entries), ...layer.entries.filter((other) => other !== entry)],
    why: `${layer.why}; so it imports only the layers below its own in layerOrder`,
  })),
);

/** Every TypeScript file under src/, relative to the root. */
const sourceFiles = readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && /\.[cm]?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
  .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));

/** What `file` imports by a relative path, as paths from the root (the file or folder named, not resolved further). */
const relativeImportsOf = (file) =>
  ts
    .preProcessFile(readFileSync(path.join(root, file), 'utf8'), true, true)
    .importedFiles.map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith('./') || specifier.startsWith('../'))
    .map((specifier) => path.posix.join(path.posix.dirname(file), specifier));

const isDirectory = (dir) => existsSync(path.join(root, dir)) && statSync(path.join(root, dir)).isDirectory();

/** The folder directly under `parent` that holds `target`, or undefined (outside `parent`, or one of its own files). */
const folderUnder = (parent, target) => {
  const [first] = path.posix.relative(parent, target).split('/');
  return first !== '' && first !== '..' && isDirectory(`${parent}/${first}`) ? `${parent}/${first}` : undefined;
};

/**
 * Below the top, no order is declared: the folders inside one folder (src/registry/services,
 * src/registry/health, …) may import each other in whichever direction the code goes, but never
 * back. For every folder that imports another (directly or through others, as the source stands),
 * the reverse import is refused: it would close a cycle.
 */
const cycleRules = directoriesFrom('src')
  .filter((parent) => parent !== 'src')
  .flatMap((parent) => {
    const imports = new Map();
    for (const file of sourceFiles) {
      const from = folderUnder(parent, file);
      if (from === undefined) continue;
      for (const target of relativeImportsOf(file)) {
        const to = folderUnder(parent, target);
        if (to !== undefined && to !== from) imports.set(from, new Set([...(imports.get(from) ?? []), to]));
      }
    }
    const reachable = (from) => {
      const seen = new Set();
      const visit = (folder) => {
        for (const next of imports.get(folder) ?? []) {
          if (!seen.has(next)) {
            seen.add(next);
            visit(next);
          }
        }
      };
      visit(from);
      return seen;
    };
    return [...imports.keys()].flatMap((importer) =>
      [...reachable(importer)]
        .filter((imported) => imported !== importer)
        .map((imported) => ({
          rule: `no cycle: ${imported} → ${importer}`,
          from: [imported],
          dirs: [importer],
          why: `${importer} imports ${imported} (directly or through other folders), so importing it back would close a cycle; what both need goes into a folder both may import`,
        })),
    );
  });

/**
 * More import rules: files in `from` (and below) must not import the directories or files in
 * `dirs` (but may import those in `except`), must not import by a relative path that leaves
 * `from` (`leaves`), and must not import modules whose name matches a regular expression in
 * `modules`; they must not re-export what they import from `reexports` (so the rules on who
 * imports those cannot be walked around). test/ and bench/ may import anything.
 */
const layerRules = [
  ...orderRules,
  ...cycleRules,
  {
    rule: 'packages → src',
    from: ourPackages.map((name) => `packages/${name}/src`),
    leaves: true,
    modules: ['^switchboard(/|$)'],
    why: 'packages run without the server (the server imports them, never the reverse); import another package by its name',
  },
  {
    rule: 'contracts → anything of ours',
    from: ['packages/contracts/src'],
    modules: ['^@switchboard/'],
    why: 'contracts are the bottom layer every package and the server build on, so they import nothing of ours',
  },
  {
    rule: 'client → contracts only',
    from: ['packages/client/src'],
    modules: ['^@switchboard/(?!contracts$)'],
    why: 'the client ships to browsers and other services with @switchboard/contracts as its only package of ours',
  },
  {
    rule: 'contracts, client → no Node built-ins',
    from: ['packages/contracts/src', 'packages/client/src'],
    modules: [nodeBuiltins],
    why: 'they must run in a browser; use what ES2024 (and, in the client, the DOM) provides',
  },
  {
    rule: 'backends → sdk and contracts',
    from: ['packages/etcd/src', 'packages/consul/src', 'packages/kubernetes/src'],
    modules: ['^@switchboard/(?!(sdk|contracts)$)'],
    why: 'a backend is a Registry for the sdk: it builds on the sdk and contracts, and on no other backend',
  },
  {
    rule: 'sdk → no backend',
    from: ['packages/sdk/src'],
    modules: ['^@switchboard/(etcd|consul|kubernetes)'],
    why: 'backends build on the sdk, which names none (MultiRegistry takes any Registry): a service installs only the backends it uses',
  },
  {
    rule: 'examples → packages by name',
    from: ['examples'],
    leaves: true,
    modules: ['^switchboard(/|$)', '^@switchboard/[^/]+/'],
    why: "examples use Switchboard as a service does: @switchboard/sdk, client and contracts by their names, never the server or a package's files",
  },
  {
    rule: 'ui → server, Node',
    from: ['ui/src'],
    leaves: true,
    modules: [nodeBuiltins, '^@switchboard/(?!(client|contracts)$)'],
    why: 'the dashboard runs in a browser and reaches the registry only through its GraphQL API (@switchboard/client)',
  },
  {
    rule: 'APIs → db, but its handle',
    from: ['src/graphql', 'src/consul'],
    dirs: ['src/db'],
    except: ['src/db/handle.ts'],
    why: 'resolvers and Consul routes only translate (request → domain call → response): queries, rows and driver errors stay in the domain (src/registry) and src/db. The one door is src/db/handle.ts: the type of the handle they carry to the domain calls, and how to name a database error as a domain error',
  },
  {
    rule: 'http → domain, db',
    from: ['src/http'],
    dirs: ['src/registry', 'src/events', 'src/db'],
    why: 'bodies, deadlines and document limits are about requests, not what they ask for: they serve either API and know nothing of the registry, its events or its tables',
  },
  {
    rule: 'probes → db',
    from: ['src/checker/probes'],
    dirs: ['src/db'],
    why: 'a probe takes plain inputs and reports (status, output); the worker reads and stores the rows',
  },
  {
    rule: 'domain re-exports nothing of db',
    from: ['src/registry', 'src/events'],
    reexports: ['src/db'],
    why: 'the APIs reach src/db only through src/db/handle.ts ("APIs → db, but its handle"); a re-export from the domain would be a second door, around that rule',
  },
];

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The import prefix that reaches `target` from a file in `dir` ('../db', './probes'). */
const importPrefix = (dir, target) => {
  const relative = path.posix.relative(dir, target);
  return relative.startsWith('..') ? relative : `./${relative}`;
};

/** A file (src/settings.ts) rather than a directory (src/db). */
const isFile = (entry) => /\.[cm]?[jt]s$/.test(entry);

/** Imports of `target` from a file in `dir`, but those of the files in `except`: a directory and all below it, or one file (written .js or .ts). */
const targetRegex = (dir, target, except = []) => {
  if (isFile(target)) return `^${escapeRegExp(importPrefix(dir, target.replace(/\.[cm]?[jt]s$/, '')))}\\.[cm]?[jt]s$`;
  const allowed = except
    .filter((file) => isWithin(file, target))
    .map((file) => `/${escapeRegExp(path.posix.relative(target, file).replace(/\.[cm]?[jt]s$/, ''))}\\.[cm]?[jt]s$`);
  return `^${escapeRegExp(importPrefix(dir, target))}${allowed.length ? `(?!${allowed.join('|')})` : ''}(/|$)`;
};

/** `dir` and every directory below it, relative to the root (none while `dir` does not exist yet). */
function directoriesFrom(dir) {
  return existsSync(path.join(root, dir))
    ? readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
        .concat(dir)
    : [];
}

/**
 * no-restricted-imports sees the import as written, not the file it resolves to, so the
 * same folder is reached by different prefixes from different places. Each directory (or
 * file named in a rule's `from`) gets its own patterns, written relative to its directory.
 */
function isWithin(dir, from) {
  return dir === from || dir.startsWith(`${from}/`);
}

/** Whether a rule's `from` (a directory and below, or one file) holds the files of `scope`. */
const covers = (from, scope) => (isFile(from) ? scope.file === from : isWithin(scope.dir, from));

const rulesFor = (scope) =>
  layerRules.flatMap((layer) => {
    const from = layer.from.find((candidate) => covers(candidate, scope));
    return from === undefined ? [] : [{ layer, from }];
  });

const message = (layer) => `Layer rule "${layer.rule}": ${layer.why}.`;

const patternsFor = (scope) =>
  rulesFor(scope).flatMap(({ layer, from }) => {
    const up = isFile(from) ? '' : path.posix.relative(scope.dir, from);
    const regexes = [
      ...(layer.dirs ?? []).map((target) => targetRegex(scope.dir, target, layer.except)),
      ...(layer.leaves ? [`^(\\./)?${escapeRegExp(up ? `${up}/../` : '../')}`] : []),
      ...(layer.modules ?? []),
    ];
    return regexes.map((regex) => ({ regex, caseSensitive: true, message: message(layer) }));
  });

const reexportPatternsFor = (scope) =>
  rulesFor(scope).flatMap(({ layer }) => (layer.reexports ?? []).map((target) => ({ regex: targetRegex(scope.dir, target), message: message(layer) })));

/**
 * Refuses to export what comes from a module matching one of `patterns`: `export … from`,
 * `export *`, and exporting (or aliasing in an exported declaration) a name imported from it.
 */
const noReexport = {
  meta: {
    type: 'problem',
    docs: { description: 'Refuses re-exports of modules a layer may import but must not pass on' },
    schema: [
      {
        type: 'object',
        properties: {
          patterns: {
            type: 'array',
            items: { type: 'object', properties: { regex: { type: 'string' }, message: { type: 'string' } }, required: ['regex', 'message'] },
          },
        },
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const patterns = (context.options[0]?.patterns ?? []).map(({ regex, message }) => ({ regex: new RegExp(regex), message }));
    const imported = new Map();
    const exported = [];
    const check = (node, source) => {
      const pattern = typeof source === 'string' ? patterns.find(({ regex }) => regex.test(source)) : undefined;
      if (pattern) context.report({ node, message: pattern.message });
    };
    /** The name an exported expression or type merely renames (`x`, `x.y`, `X<T>`), if any. */
    const aliased = (node) => {
      if (!node) return undefined;
      if (node.type === 'Identifier') return node.name;
      if (node.type === 'MemberExpression' || node.type === 'TSQualifiedName') return aliased(node.object ?? node.left);
      if (node.type === 'TSTypeReference') return aliased(node.typeName);
      if (node.type === 'TSAsExpression' || node.type === 'TSSatisfiesExpression' || node.type === 'TSNonNullExpression') return aliased(node.expression);
      return undefined;
    };
    return {
      ImportDeclaration(node) {
        for (const specifier of node.specifiers) imported.set(specifier.local.name, node.source.value);
      },
      TSImportEqualsDeclaration(node) {
        if (node.moduleReference.type === 'TSExternalModuleReference') imported.set(node.id.name, node.moduleReference.expression.value);
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value);
      },
      ExportNamedDeclaration(node) {
        if (node.source) return check(node, node.source.value);
        for (const specifier of node.specifiers) exported.push({ node: specifier, name: specifier.local.name });
        const declaration = node.declaration;
        if (declaration?.type === 'VariableDeclaration') {
          for (const declarator of declaration.declarations) exported.push({ node: declarator, name: aliased(declarator.init) });
        } else if (declaration?.type === 'TSTypeAliasDeclaration') {
          exported.push({ node: declaration, name: aliased(declaration.typeAnnotation) });
        }
      },
      ExportDefaultDeclaration(node) {
        exported.push({ node, name: aliased(node.declaration) });
      },
      'Program:exit'() {
        for (const { node, name } of exported) if (name !== undefined) check(node, imported.get(name));
      },
    };
  },
};

/** Each directory, and each file a rule names on its own, with the files it covers. */
const scopes = [...new Set(layerRules.flatMap((layer) => layer.from.filter((from) => !isFile(from)).flatMap(directoriesFrom)))].map((dir) => ({
  dir,
  files: [`${dir}/*.{ts,mts,cts,js,mjs,cjs}`],
}));
const fileScopes = [...new Set(layerRules.flatMap((layer) => layer.from.filter(isFile)))].map((file) => ({
  dir: path.posix.dirname(file),
  file,
  files: [file],
}));

const layerConfigs = [...scopes, ...fileScopes].map((scope) => {
  const reexports = reexportPatternsFor(scope);
  const ownFiles = fileScopes.filter((fileScope) => fileScope.dir === scope.dir && scope.file === undefined).map((fileScope) => fileScope.file);
  return {
    name: `switchboard/layers/${scope.file ?? scope.dir}`,
    files: scope.files,
    ...(ownFiles.length ? { ignores: ownFiles } : {}),
    rules: {
      'no-restricted-imports': ['error', { patterns: patternsFor(scope) }],
      ...(reexports.length ? { 'switchboard/no-reexport': ['error', { patterns: reexports }] } : {}),
    },
  };
});

export default defineConfig(
  { name: 'switchboard/ignores', ignores: ignored },
  { name: 'switchboard/plugin', plugins: { switchboard: { rules: { 'no-reexport': noReexport } } } },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    name: 'switchboard/node-scripts',
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    name: 'switchboard/rules',
    rules: {
      // `const { derived: _derived, ...rest } = x` is how we drop a field from a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // A `let` that handlers read before its one assignment (a server that answers while it starts) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  layerConfigs,
);
