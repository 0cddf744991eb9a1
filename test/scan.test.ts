import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { scan } from '../src/build/scan/index.js';
import { manifestJsonSchema, readManifest, validateManifest, type Manifest } from '../src/build/manifest.js';
import { runCli } from './support/cli.js';

/**
 * `switchboard scan` on test/fixtures/scan-project: a project of its own with a tsconfig `paths` alias (@app/*), a
 * barrel that re-exports the SDK's decorators under other names, a namespace import, an aliased import, constants
 * imported from another file, a local function that is also called `service`, and (under broken/) declarations it
 * cannot read statically or the registry would refuse.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = path.join(ROOT, 'test/fixtures/scan-project');
const relative = (file: string) => path.relative(ROOT, file);
// Manifests go in a dot-directory of the fixture (scan skips dot-directories), so their source paths are "../src/…".
const OUT = mkdtempSync(path.join(FIXTURE, '.out-'));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

const scanFixture = () => scan({ paths: [path.join(FIXTURE, 'src')], out: path.join(OUT, 'switchboard.manifest.json') });

describe('scan reads the fixture project statically', () => {
  const { manifest, errors, files } = scanFixture();

  it('finds every @service and @component from @switchboard/sdk, however it was imported, and nothing else', () => {
    expect(errors).toEqual([]);
    expect(files).toBe(8);
    expect(manifest.project).toBe('scan-fixture');
    // Fx and Reports import `service` directly; Ledger as `svc` from a barrel through the @app/* alias; PaymentService
    // as `sdk.service`; the components as `step`, re-exported twice. LocalOnly's `service` is a local function.
    expect(manifest.services.map((service) => `${service.className} ${service.name}`)).toEqual([
      'Fx fx',
      'Ledger ledger',
      'PaymentService payments',
      'Reports reports',
    ]);
    expect(manifest.components.map((component) => `${component.className} ${component.id}`)).toEqual([
      'CardTokenizer card-tokenizer-1.0.0',
      'CheckoutFlow checkout@1.4.0',
      'FraudCheck fraud-check@1.0.0',
      'RiskScore risk-score@1.2.0',
    ]);
  });

  it('reads constants through imports, `as const`, template literals, @dependency and @config fields with their defaults', () => {
    const byName = new Map(manifest.services.map((service) => [service.name, service]));
    expect(byName.get('ledger')).toEqual({
      name: 'ledger',
      version: '2.1.0',
      port: 9101,
      tags: [],
      metadata: {},
      healthCheck: { ttl: '30s' },
      ephemeral: false,
      dependencies: [],
      dependencyFields: [],
      configFields: [],
      className: 'Ledger',
      source: { file: '../src/ledger.ts', line: 5, column: 14 },
    });
    expect(byName.get('payments')).toMatchObject({
      version: '2.4.1',
      port: 8443,
      tags: ['eu', 'primary'],
      metadata: { team: 'payments' },
      healthCheck: { http: '/healthz', interval: '1s' },
      // Sorted by service; the @dependency field's service is among them once.
      dependencies: [
        { service: 'audit', range: '*' },
        { service: 'fx', range: '^3' },
        { service: 'ledger', range: '^2' },
      ],
      dependencyFields: [{ field: 'ledger', service: 'ledger' }],
      configFields: [
        { field: 'rateLimit', key: 'payments.rate_limit', default: 100 },
        { field: 'currency', key: 'payments.currency', default: 'EUR' },
      ],
      source: { file: '../src/payments.ts', line: 15, column: 14 },
    });
    const checkout = manifest.components.find((component) => component.name === 'checkout');
    expect(checkout).toEqual({
      id: 'checkout@1.4.0',
      type: 'FLOW',
      name: 'checkout',
      version: '1.4.0',
      description: 'Takes a payment',
      dependencies: [],
      metadata: { steps: ['fraud-check', 'risk-score'], timeout: '30s', tags: ['payments'] },
      flows: [],
      className: 'CheckoutFlow',
      source: { file: '../src/steps/checkout.ts', line: 21, column: 14 },
    });
    expect(manifest.components.find((component) => component.name === 'fraud-check')).toMatchObject({
      dependencies: ['risk-score@^1'],
      flows: ['checkout@^1'],
      provider: 'payments',
    });
  });

  it('writes a manifest the schema and the registry rules accept, the same bytes every time', async () => {
    const out = path.join(OUT, 'cli.json');
    const first = await runCli([
      'scan',
      relative(path.join(FIXTURE, 'src')),
      '--project',
      relative(path.join(FIXTURE, 'tsconfig.json')),
      '--out',
      relative(out),
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`Scanned 8 files: 4 services, 4 components -> ${relative(out)}\n`);
    const written = readFileSync(out, 'utf8');
    expect(JSON.parse(written)).toEqual({ ...JSON.parse(JSON.stringify(manifest)), $schema: '../../../../schemas/switchboard.manifest.schema.json' });
    const read = readManifest(out);
    expect('manifest' in read && (read.manifest as Manifest).services).toHaveLength(4);

    const again = await runCli(['scan', relative(path.join(FIXTURE, 'src')), '--out', relative(out)]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(written);
  }, 60_000);
});

describe('what scan cannot read', () => {
  it('exits 1 with file:line:column for each non-literal, computed or spread argument and each declaration the registry refuses, and writes nothing', async () => {
    const out = path.join(OUT, 'broken.json');
    const result = await runCli(['scan', relative(FIXTURE), '--out', relative(out)]);
    expect(result.code).toBe(1);
    const broken = 'test/fixtures/scan-project/broken';
    expect(result.stderr.split('\n').filter((line) => line.startsWith('test/'))).toEqual([
      `${broken}/dynamic.ts:5:12: error: "name" is not a constant scan can read (an expression cannot be read statically: use a literal, or a const initialised with one)`,
      `${broken}/dynamic.ts:10:28: error: a computed name cannot be read statically: write the name`,
      `${broken}/dynamic.ts:15:44: error: a spread (...) cannot be read statically: write the properties out`,
      `${broken}/invalid.ts:5:14: error: BadName.name: must start and end with a letter or digit and contain only letters, digits, ".", "_" or "-"`,
      `${broken}/invalid.ts:8:14: error: ShortVersion.version: "1.0" is not a semantic version such as 1.4.2`,
    ]);
    expect(result.stderr).toContain(`error: scan found 5 problems in 10 files; ${relative(out)} was not written.`);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('a path that does not exist is a usage error (exit 2)', async () => {
    const result = await runCli(['scan', 'test/fixtures/no-such-project']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('test/fixtures/no-such-project: no such file or directory');
  });
});

describe('the manifest format', () => {
  it('schemas/switchboard.manifest.schema.json is current (run `switchboard scan --print-schema --out schemas/switchboard.manifest.schema.json`)', () => {
    expect(JSON.parse(readFileSync(path.join(ROOT, 'schemas/switchboard.manifest.schema.json'), 'utf8'))).toEqual(manifestJsonSchema());
  });

  it('reports every problem of an invalid manifest at its JSON path, structural and the registry rules alike', () => {
    const { manifest } = scanFixture();
    const bad = JSON.parse(JSON.stringify(manifest)) as Record<string, unknown> & {
      services: Record<string, unknown>[];
      components: Record<string, unknown>[];
    };
    bad.components[2]!['version'] = '1.0';
    bad.components[1]!['dependencies'] = ['not a spec'];
    bad.services[0]!['port'] = 70_000;
    bad.services[1]!['dependencies'] = [{ service: 'ledger', range: 'not-a-range' }];
    expect(validateManifest(bad)).toEqual({ problems: [{ path: '$.services[0].port', message: 'Too big: expected number to be <=65535' }] });
    bad.services[0]!['port'] = 7000;
    expect(validateManifest(bad)).toEqual({
      problems: [
        { path: '$.services[1].dependencies[0].range', message: '"not-a-range" is not a semver range' },
        {
          path: '$.components[1].dependencies[0]',
          message: '"not a spec" is not a component id or name, optionally with "@range" (e.g. "http-client@^1.2", "custom-api-step-v1")',
        },
        { path: '$.components[2].version', message: '"1.0" is not a semantic version such as 1.4.2' },
      ],
    });
    expect(validateManifest({ ...manifest, components: [manifest.components[0], manifest.components[0]] })).toEqual({
      problems: [{ path: '$.components[1]', message: 'a component with id "card-tokenizer-1.0.0" is declared twice (also at $.components[0])' }],
    });
  });

  it('a file that is not JSON is one problem at $', () => {
    const read = readManifest(path.join(FIXTURE, 'src/ledger.ts'));
    expect(read).toEqual({ problems: [{ path: '$', message: expect.stringMatching(/ledger\.ts is not JSON: Unexpected token/) as unknown as string }] });
  });
});
