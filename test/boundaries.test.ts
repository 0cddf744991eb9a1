import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The layer rules of eslint.config.js (DESIGN.md "Layers"), each shown to reject an import
// across its boundary and to let a neighbouring import through. The files need not exist:
// only their directory decides which rules apply.
const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

async function layerErrors(file: string, source: string): Promise<string[]> {
  const code = `import { thing } from '${source}';\nexport { thing };\n`;
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
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
  { rule: 'graphql → db', file: 'src/graphql/schema/probe.ts', forbidden: '../../db/schema.js', allowed: '../../registry/services/index.js' },
  { rule: 'graphql → server, cli', file: 'src/graphql/probe.ts', forbidden: '../server/http.js', allowed: '../events/types.js' },
  { rule: 'graphql → server, cli', file: 'src/graphql/probe.ts', forbidden: '../cli/run.js', allowed: './builder.js' },
  { rule: 'consul → graphql, db', file: 'src/consul/routes/probe.ts', forbidden: '../../graphql/context.js', allowed: '../../registry/catalog/index.js' },
  { rule: 'consul → graphql, db', file: 'src/consul/probe.ts', forbidden: '../db/client.js', allowed: '../events/feed.js' },
  { rule: 'probes → db', file: 'src/checker/probes/probe.ts', forbidden: '../../db/schema.js', allowed: '../../registry/health/model.js' },
  // src/registry/health is domain, src/checker runs the checks.
  {
    rule: 'domain → graphql, server, cli, checker',
    file: 'src/registry/services/probe.ts',
    forbidden: '../../checker/worker.js',
    allowed: '../health/model.js',
  },
  { rule: 'domain → graphql, server, cli, checker', file: 'src/events/probe.ts', forbidden: '../graphql/context.js', allowed: '../db/client.js' },
  { rule: 'db → domain, graphql, server', file: 'src/db/probe.ts', forbidden: '../registry/services/index.js', allowed: 'drizzle-orm' },
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
    { file: 'src/cli/probe.ts', source: '../graphql/schema/index.js' },
    { file: 'src/checker/worker-probe.ts', source: '../db/client.js' },
    { file: 'test/probe.test.ts', source: '../src/graphql/context.js' },
    { file: 'bench/probe.ts', source: '../src/db/schema.js' },
  ])('$file may import $source', async ({ file, source }) => {
    expect(await layerErrors(file, source)).toEqual([]);
  });
});
