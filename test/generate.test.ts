import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { tsImport } from 'tsx/esm/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventsDocument, SetConfigDocument } from '@switchboard/client';
import { clearGeneratedRegistry, generatedRegistry, start, SwitchboardRegistry } from '@switchboard/sdk';
import { scan } from '../src/build/scan/index.js';
import { generateModule } from '../src/build/generate.js';
import type { Manifest } from '../src/build/manifest.js';
import { runCli } from './support/cli.js';
import { useRegistryNode } from './support/nodes.js';
import type * as Decorated from './fixtures/generate-project/decorated.js';

/**
 * The registry generator, round trip: scan test/fixtures/generate-project, generate its module, type-check the
 * module with the project's compiler options, import it, and start the service from it.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROJECT = path.join(ROOT, 'test/fixtures/generate-project');
const OUT = mkdtempSync(path.join(PROJECT, '.out-'));
const MANIFEST = path.join(OUT, 'switchboard.manifest.json');
const MODULE = path.join(OUT, 'switchboard.generated.ts');
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

let manifest: Manifest;
beforeAll(() => {
  const result = scan({ paths: [path.join(PROJECT, 'inventory.ts')], out: MANIFEST });
  expect(result.errors).toEqual([]);
  manifest = result.manifest;
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
});
afterEach(() => clearGeneratedRegistry());

const registry = useRegistryNode();

describe('switchboard generate', () => {
  it('writes the module the manifest makes, components in dependency order', async () => {
    const result = await runCli(['generate', path.relative(ROOT, MANIFEST), '--out', path.relative(ROOT, MODULE)]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`Generated ${path.relative(ROOT, MODULE)}: 1 service, 3 components (import it before calling start())\n`);
    const text = readFileSync(MODULE, 'utf8');
    expect(text).toBe(generateModule(manifest, { manifestPath: MANIFEST, out: MODULE }));
    // The manifest lists components by id; the module, each after what it depends on.
    expect(manifest.components.map((component) => component.id)).toEqual(['order@2.0.0', 'reserve-stock@1.0.0', 'stock-check@1.1.0']);
    expect([...text.matchAll(/"id": "([^"]+)"/g)].map((match) => match[1])).toEqual(['order@2.0.0', 'stock-check@1.1.0', 'reserve-stock@1.0.0']);
  });

  it('the generated module type-checks with the project’s compiler options', () => {
    writeFileSync(MODULE, generateModule(manifest, { manifestPath: MANIFEST, out: MODULE }));
    const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const program = ts.createProgram({ rootNames: [MODULE], options: { ...config.options, noEmit: true } });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  }, 60_000);

  it('start() takes the declaration from the imported module (not the decorators) and registers the provided components in order', async () => {
    writeFileSync(MODULE, generateModule(manifest, { manifestPath: MANIFEST, out: MODULE }));
    await import(pathToFileURL(MODULE).href);
    expect(generatedRegistry()?.services.map((service) => service.className)).toEqual(['Inventory']);

    // No decorators at all: only the generated module can tell start() what this class is.
    class Inventory {
      batchSize = 10;
    }
    await registry.client.request(SetConfigDocument, { key: 'inventory.batch_size', value: 25 });
    const sdk = new SwitchboardRegistry(registry.clients.create(registry.node.url));
    const running = await start(Inventory, { registry: sdk, address: '127.0.0.1', handleSignals: false });
    try {
      expect(running.declaredBy).toBe('generated');
      expect(running.components).toEqual(['stock-check@1.1.0', 'reserve-stock@1.0.0']);
      expect(running.instance.batchSize).toBe(25);
      expect(await sdk.getService(running.id)).toMatchObject({ name: 'inventory', version: '3.1.0', port: 7400, tags: ['stock'] });
      expect(await sdk.getComponent('reserve-stock@1.0.0')).toMatchObject({ provider: 'inventory', dependencies: ['stock-check@^1'], flows: ['order@^2'] });
      // The FLOW has no provider: start() leaves it to `apply`.
      expect(await sdk.getComponent('order@2.0.0')).toBeUndefined();
      const { events } = await registry.client.request(EventsDocument, { types: ['component.registered'] });
      expect(events.map((event) => (event.data as { id: string }).id)).toEqual(['stock-check@1.1.0', 'reserve-stock@1.0.0']);
    } finally {
      await running.stop();
    }
  });

  it('without the module, an undecorated class is no service', async () => {
    class Inventory {}
    await expect(start(Inventory, { registry: new SwitchboardRegistry(registry.clients.create(registry.node.url)) })).rejects.toThrow(
      'Inventory is not a service: decorate it with @service',
    );
  });

  it('refuses a manifest whose components form a cycle: exit 1, naming it', async () => {
    const fixture = path.join(OUT, 'cycle.json');
    const scanned = scan({ paths: [path.join(ROOT, 'test/fixtures/scan-project/src')], out: fixture });
    writeFileSync(fixture, JSON.stringify(scanned.manifest));
    const result = await runCli(['generate', path.relative(ROOT, fixture), '--out', path.relative(ROOT, path.join(OUT, 'never.ts'))]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'generate: the components cannot be ordered: Dependency cycle: fraud-check@1.0.0 -> risk-score@1.2.0 -> fraud-check@1.0.0. (switchboard check lists every problem)',
    );
  }, 60_000);
});

describe('@component', () => {
  const load = () => tsImport('./fixtures/generate-project/decorated.ts', import.meta.url) as Promise<typeof Decorated>;

  it.each([
    ['shortVersion', 'ShortVersion', 'version', /"1\.0" is not a semantic version/],
    ['notAType', 'NotAType', 'type', /must be one of STEP, TRANSFORMER, VALIDATOR, FLOW, MIDDLEWARE, PLUGIN/],
    ['badDependency', 'BadDependency', 'dependencies[1]', /"not a name" is not a component id or name/],
    ['badFlow', 'BadFlow', 'flows[0]', /must be "flow", "flow@range"/],
  ] as const)('misused (%s): fails when the class is defined, naming the class and the field', async (misuse, className, field, problem) => {
    const { misuses } = await load();
    let thrown: unknown;
    try {
      misuses[misuse]();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'ComponentDeclarationError', className, field });
    expect((thrown as Error).message).toMatch(new RegExp(`^${className}\\.${field.replace(/[[\]]/g, '\\$&')}: `));
    expect((thrown as Error).message).toMatch(problem);
  });

  it('describeComponent gives the validated declaration, its id defaulted; start() without a generated module registers the provided components from the decorators, in dependency order', async () => {
    const { warehouse, describeComponent, start: startHere } = await load();
    const { PackOrder, LabelPrinter, Warehouse } = warehouse();
    expect(describeComponent(PackOrder)).toEqual({
      className: 'PackOrder',
      id: 'pack-order@1.0.0',
      type: 'STEP',
      name: 'pack-order',
      version: '1.0.0',
      description: undefined,
      dependencies: ['label-printer@^2'],
      metadata: {},
      flows: ['shipping'],
      provider: 'warehouse',
    });
    expect(describeComponent(LabelPrinter).id).toBe('label-printer');

    const sdk = new SwitchboardRegistry(registry.clients.create(registry.node.url));
    const running = await startHere(Warehouse, { registry: sdk, address: '127.0.0.1', handleSignals: false });
    try {
      expect(running.declaredBy).toBe('decorators');
      expect(running.components).toEqual(['label-printer', 'pack-order@1.0.0']);
      expect(await sdk.getComponent('pack-order@1.0.0')).toMatchObject({ provider: 'warehouse', flows: ['shipping'] });
    } finally {
      await running.stop();
    }
  });
});
