// @ts-check
import { existsSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
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
];

const ourPackages = readdirSync(path.join(root, 'packages'));
const nodeBuiltins = `^(node:|(${builtinModules.filter((name) => !name.startsWith('_') && !name.includes('/')).join('|')})(/|$))`;

/**
 * The layers of DESIGN.md ("Layers"), as import rules: files in `from` (and below) must not
 * import the directories in `dirs`, must not import by a relative path that leaves `from`
 * (`leaves`), and must not import modules whose name matches a regular expression in `modules`.
 * test/ and bench/ may import anything.
 */
const layerRules = [
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
    rule: 'graphql → db',
    from: ['src/graphql'],
    dirs: ['src/db'],
    why: 'resolvers only translate (request → domain call → response); queries, rows and driver errors stay in the domain (src/registry) and src/db',
  },
  {
    rule: 'graphql → server, cli',
    from: ['src/graphql'],
    dirs: ['src/server', 'src/cli'],
    why: 'the HTTP routes and the CLI serve the schema; importing them back makes a cycle',
  },
  {
    rule: 'consul → graphql, db',
    from: ['src/consul'],
    dirs: ['src/graphql', 'src/db'],
    why: 'the Consul-compatible API translates requests into domain calls (src/registry) like the resolvers do, beside GraphQL, not through it; queries stay in the domain',
  },
  {
    rule: 'probes → db',
    from: ['src/checker/probes'],
    dirs: ['src/db'],
    why: 'a probe takes plain inputs and reports (status, output); the worker reads and stores the rows',
  },
  {
    rule: 'domain → graphql, server, cli, checker',
    from: ['src/registry', 'src/events'],
    dirs: ['src/graphql', 'src/server', 'src/cli', 'src/checker'],
    why: 'the domain knows nothing of GraphQL, HTTP or the processes that call it: plain inputs in, domain objects out',
  },
  {
    rule: 'db → domain, graphql, server',
    from: ['src/db'],
    dirs: ['src/registry', 'src/graphql', 'src/server'],
    why: 'src/db is the bottom of the server (tables, transactions, driver errors) and the domain builds on it',
  },
];

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The import prefix that reaches `target` from a file in `dir` ('../db', './probes'). */
const importPrefix = (dir, target) => {
  const relative = path.posix.relative(dir, target);
  return relative.startsWith('..') ? relative : `./${relative}`;
};

/** `dir` and every directory below it, relative to the root (none while `dir` does not exist yet). */
const directoriesFrom = (dir) =>
  existsSync(path.join(root, dir))
    ? readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => path.posix.relative(root, path.join(entry.parentPath, entry.name)))
        .concat(dir)
    : [];

/**
 * no-restricted-imports sees the import as written, not the file it resolves to, so the
 * same folder is reached by different prefixes from different places. Each directory gets
 * its own patterns, written relative to it.
 */
const isWithin = (dir, from) => dir === from || dir.startsWith(`${from}/`);

const patternsFor = (dir) =>
  layerRules.flatMap((layer) => {
    const from = layer.from.find((candidate) => isWithin(dir, candidate));
    if (from === undefined) return [];
    const up = path.posix.relative(dir, from);
    const regexes = [
      ...(layer.dirs ?? []).map((target) => `^${escapeRegExp(importPrefix(dir, target))}(/|$)`),
      ...(layer.leaves ? [`^(\\./)?${escapeRegExp(up ? `${up}/../` : '../')}`] : []),
      ...(layer.modules ?? []),
    ];
    const message = `Layer rule "${layer.rule}": ${layer.why}.`;
    return regexes.map((regex) => ({ regex, caseSensitive: true, message }));
  });

const layerConfigs = [...new Set(layerRules.flatMap((layer) => layer.from.flatMap(directoriesFrom)))].map((dir) => ({
  name: `switchboard/layers/${dir}`,
  files: [`${dir}/*.{ts,mts,cts,js,mjs,cjs}`],
  rules: { 'no-restricted-imports': ['error', { patterns: patternsFor(dir) }] },
}));

export default defineConfig(
  { name: 'switchboard/ignores', ignores: ignored },
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
