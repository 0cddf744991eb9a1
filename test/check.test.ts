import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterComponentDocument, RegisterServiceDocument } from '@switchboard/client';
import { scan } from '../src/build/scan/index.js';
import { checkManifest, type CheckReport } from '../src/build/check.js';
import type { Manifest } from '../src/build/manifest.js';
import { dependencyOrder } from '../src/registry/components/order.js';
import type { Component } from '../src/registry/components/model.js';
import { runCli } from './support/cli.js';
import { useRegistryNode } from './support/nodes.js';

/**
 * `switchboard check` on the fixture project's manifest (test/fixtures/scan-project/src), which declares one of
 * each problem: payments depends on audit (declared nowhere) and fx@^3 (only fx 1.3.0 is declared), reports
 * depends on itself, Card Tokenizer needs vault-client@^2 (declared nowhere), and fraud-check and risk-score
 * depend on each other.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = path.join(ROOT, 'test/fixtures/scan-project');
const OUT = mkdtempSync(path.join(FIXTURE, '.out-'));
const MANIFEST = path.relative(ROOT, path.join(OUT, 'switchboard.manifest.json'));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

let manifest: Manifest;
beforeAll(() => {
  const result = scan({ paths: [path.join(FIXTURE, 'src')], out: path.join(ROOT, MANIFEST) });
  expect(result.errors).toEqual([]);
  manifest = result.manifest;
  writeFileSync(path.join(ROOT, MANIFEST), JSON.stringify(manifest, null, 2));
});

const registry = useRegistryNode();

const EXPECTED = [
  { kind: 'missing-service', path: '$.services[2].dependencies[0]', from: 'payments', dependency: 'audit' },
  { kind: 'unsatisfiable-range', path: '$.services[2].dependencies[1]', from: 'payments', dependency: 'fx@^3', availableVersions: ['1.3.0'] },
  { kind: 'self-dependency', path: '$.services[3].dependencies[0]', from: 'reports', dependency: 'reports' },
  { kind: 'missing-component', path: '$.components[0].dependencies[0]', from: 'card-tokenizer-1.0.0', dependency: 'vault-client@^2' },
  { kind: 'cycle', path: '$.components[2]', from: 'fraud-check@1.0.0', cycle: ['fraud-check@1.0.0', 'risk-score@1.2.0', 'fraud-check@1.0.0'] },
];

describe('switchboard check', () => {
  it('--json: every problem with its kind, the JSON path of the declaration, and exit 1', async () => {
    const result = await runCli(['check', MANIFEST, '--json']);
    expect(result.code, result.stderr).toBe(1);
    const report = result.json<CheckReport & { ok: boolean; live: boolean }>();
    expect(report.ok).toBe(false);
    expect(report.live).toBe(false);
    expect(report.problems.map(({ message: _message, ...problem }) => problem)).toEqual(EXPECTED);
    expect(report.satisfiedLive).toEqual([]);
    expect(report.problems.map((problem) => problem.message)).toEqual([
      'payments depends on audit, which no service in the manifest declares',
      'payments depends on fx@^3, but fx is declared only at 1.3.0',
      'reports depends on itself (reports): it could never become ready waiting for itself',
      'card-tokenizer-1.0.0 depends on vault-client@^2, which no component in the manifest declares',
      'Dependency cycle: fraud-check@1.0.0 -> risk-score@1.2.0 -> fraud-check@1.0.0.',
    ]);
  });

  it('for people: a table of the problems, one a row', async () => {
    const result = await runCli(['check', MANIFEST]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`5 problems in ${MANIFEST}:`);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/))).toEqual([
      ['PROBLEM', 'WHERE', 'DETAIL'],
      ['missing service', '$.services[2].dependencies[0]', 'payments depends on audit, which no service in the manifest declares'],
      ['unsatisfiable', '$.services[2].dependencies[1]', 'payments depends on fx@^3, but fx is declared only at 1.3.0'],
      ['self-dependency', '$.services[3].dependencies[0]', 'reports depends on itself (reports): it could never become ready waiting for itself'],
      ['missing component', '$.components[0].dependencies[0]', 'card-tokenizer-1.0.0 depends on vault-client@^2, which no component in the manifest declares'],
      ['cycle', '$.components[2]', 'Dependency cycle: fraud-check@1.0.0 -> risk-score@1.2.0 -> fraud-check@1.0.0.'],
    ]);
  });

  it('names a cycle exactly as the registry’s dependencyOrder does', async () => {
    const components = manifest.components.map(
      (component) =>
        ({
          ...component,
          description: component.description ?? null,
          dependencies: component.dependencies.map((spec) => ({ name: spec.split('@')[0]!, range: spec.split('@')[1] ?? '*' })),
        }) as unknown as Component,
    );
    const byReference = (references: readonly string[]) =>
      Promise.resolve(components.filter((component) => references.includes(component.id) || references.includes(component.name)));
    const cycle = checkManifest(manifest).problems.find((problem) => problem.kind === 'cycle')!;
    // dependencyOrder stops at the first problem it meets: leave out the component whose dependency is missing.
    const roots = components.filter((component) => component.id !== 'card-tokenizer-1.0.0');
    await expect(dependencyOrder(roots, byReference)).rejects.toThrow(cycle.message);
  });

  it('a clean manifest: exit 0', async () => {
    const result = await runCli(['check', 'examples/payments/switchboard.manifest.json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('ok: examples/payments/switchboard.manifest.json has no dependency problems.\n');
    const json = await runCli(['check', 'examples/payments/switchboard.manifest.json', '--json']);
    expect(json.code).toBe(0);
    expect(json.json()).toEqual({ manifest: 'examples/payments/switchboard.manifest.json', live: false, ok: true, problems: [], satisfiedLive: [] });
  });

  it('an invalid manifest: every problem at its JSON path, exit 2', async () => {
    const bad = path.relative(ROOT, path.join(OUT, 'bad.json'));
    const broken = JSON.parse(JSON.stringify(manifest)) as { components: { version: string }[]; services: { name: string }[] };
    broken.components[2]!.version = '1.0';
    broken.services[1]!.name = 'no spaces please';
    writeFileSync(path.join(ROOT, bad), JSON.stringify(broken));
    const result = await runCli(['check', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${bad} is not a valid manifest (2 problems):`);
    expect(result.stderr).toContain('  $.services[1].name: must start and end with a letter or digit');
    expect(result.stderr).toContain('  $.components[2].version: "1.0" is not a semantic version such as 1.4.2');
    const json = await runCli(['check', bad, '--json']);
    expect(json.code).toBe(2);
    expect(json.json<{ error: { code: string; message: string } }>().error.message).toContain('$.components[2].version');

    writeFileSync(path.join(ROOT, bad), '{ "manifestVersion": 1,');
    const notJson = await runCli(['check', bad]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/ {2}\$: .*bad\.json is not JSON/);
  });

  it('--live: what the registry has satisfies dependencies, and is reported as satisfied only live', async () => {
    await registry.client.request(RegisterServiceDocument, { input: { name: 'audit', version: '1.2.0', address: '127.0.0.1', port: 7300 } });
    await registry.client.request(RegisterComponentDocument, { input: { type: 'STEP', name: 'vault-client', version: '2.3.0' } });
    const result = await runCli(['check', MANIFEST, '--live', '--json', '--server', registry.node.url]);
    expect(result.code, result.stderr).toBe(1);
    const report = result.json<CheckReport & { live: boolean }>();
    expect(report.live).toBe(true);
    expect(report.satisfiedLive).toEqual([
      { path: '$.services[2].dependencies[0]', from: 'payments', dependency: 'audit', by: 'audit 1.2.0' },
      { path: '$.components[0].dependencies[0]', from: 'card-tokenizer-1.0.0', dependency: 'vault-client@^2', by: 'vault-client@2.3.0' },
    ]);
    expect(report.problems.map((problem) => problem.kind)).toEqual(['unsatisfiable-range', 'self-dependency', 'cycle']);

    const human = await runCli(['check', MANIFEST, '--live', '--server', registry.node.url]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('Satisfied only by the live registry (2 dependencies):');
    expect(human.stdout).toMatch(/payments\s+audit\s+audit 1\.2\.0\s+\$\.services\[2\]\.dependencies\[0\]/);
  });
});
