import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ComponentsDocument,
  ConfigDocument,
  CreateTokenDocument,
  EventsDocument,
  LatestEventIdDocument,
  RegisterComponentDocument,
  SetConfigDocument,
  type SwitchboardClient,
} from '@switchboard/client';
import { applySteps, stepsOf } from '../src/build/apply.js';
import { readLiveState } from '../src/build/live.js';
import { manifestSchema } from '../src/build/manifest.js';
import { planManifest } from '../src/build/plan.js';
import { runCli, type CliResult } from './support/cli.js';
import { useRegistryNode } from './support/nodes.js';

// `switchboard plan` and `apply` run as subprocesses against a real node with tokens: the round trip
// (apply twice, the second changes nothing), field-by-field changes, --prune limited to the project's
// own components, a refused item reported exactly, an invalid manifest sending nothing, and the order
// components are registered and removed in.

const ADMIN_TOKEN = 'plan-apply-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN });
let admin: SwitchboardClient;
let directory: string;

beforeAll(async () => {
  admin = registry.clients.create(registry.node.url, ADMIN_TOKEN);
  directory = await mkdtemp(path.join(tmpdir(), 'sbt-plan-apply-'));
});
afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

/** `switchboard <args>` against the test node, with `token` (test/support/cli.ts: no colour, stdin not a terminal). */
function switchboard(args: string[], token = ADMIN_TOKEN): Promise<CliResult> {
  return runCli(args, { env: { SWITCHBOARD_URL: registry.node.url, SWITCHBOARD_TOKEN: token }, timeoutMs: 60_000 });
}

async function json<T = Record<string, unknown>>(args: string[], token?: string): Promise<{ code: number | null; body: T; stderr: string }> {
  const run = await switchboard([...args, '--json'], token);
  return { code: run.code, body: run.json<T>(), stderr: run.stderr };
}

let manifests = 0;
async function manifestFile(manifest: Record<string, unknown>): Promise<string> {
  const file = path.join(directory, `manifest-${(manifests += 1)}.json`);
  await writeFile(file, JSON.stringify({ manifestVersion: 1, ...manifest }, null, 2));
  return file;
}

function component(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'STEP', name: id.replace(/\./g, '-'), version: '1.0.0', ...overrides };
}

function service(name: string, configFields: { field: string; key: string; default?: unknown }[] = []): Record<string, unknown> {
  return { name, version: '1.0.0', port: 8080, className: 'Service', source: { file: 'src/service.ts', line: 1, column: 1 }, configFields };
}

async function latestEventId(): Promise<string> {
  return (await admin.request(LatestEventIdDocument, {})).latestEventId;
}

async function eventsAfter(after: string): Promise<{ id: string; type: string; data: Record<string, unknown> }[]> {
  const { events } = await admin.request(EventsDocument, { after, first: 1000, types: ['component.*', 'config.changed'] });
  return events.map((event) => ({ id: event.id, type: event.type, data: event.data as Record<string, unknown> }));
}

async function liveIds(prefix: string): Promise<string[]> {
  const { components } = await admin.request(ComponentsDocument, {});
  return components
    .map((entry) => entry.id)
    .filter((id) => id.startsWith(prefix))
    .sort();
}

async function writeToken(servicePrefix: string): Promise<string> {
  const { createToken } = await admin.request(CreateTokenDocument, { input: { name: `ci-${servicePrefix}`, scopes: ['WRITE'], servicePrefix } });
  return createToken.token;
}

interface PlanJson {
  components: { action: string; id: string; changes?: { field: string; from: unknown; to: unknown }[] }[];
  config: { key: string; action: string }[];
  summary: { add: number; change: number; remove: number; configDefaults: number };
}
interface ApplyJson {
  plan: PlanJson;
  applied: { kind: string; id?: string; key?: string }[];
  notApplied: { kind: string; id?: string; key?: string }[];
  unknown: unknown[];
  refusal: { code: string; message: string; step: { id?: string } | null } | null;
  events: { id: string; type: string; subject: string }[];
}
const NO_CHANGES = { add: 0, change: 0, remove: 0, configDefaults: 0 };
const subjects = (steps: { id?: string; key?: string }[]) => steps.map((step) => step.id ?? step.key);

describe('apply twice', () => {
  it('applies once; then plan is empty, and a second apply sends nothing and causes no event; an operator value is kept', async () => {
    await admin.request(SetConfigDocument, { key: 'rt.retries', value: 7 });
    const file = await manifestFile({
      project: 'round-trip',
      components: [
        // "@*" is any version: the registry stores and prints it as "rt.http", and plan compares it so.
        component('rt.charge', { dependencies: ['rt.http@*'], metadata: { team: 'payments', limits: { a: 1, b: 2 } }, flows: ['checkout'] }),
        component('rt.http', { type: 'PLUGIN', description: 'HTTP client' }),
      ],
      services: [
        service('rt-api', [
          { field: 'timeout', key: 'rt.timeout', default: '10s' },
          { field: 'retries', key: 'rt.retries', default: 3 },
        ]),
      ],
    });

    const before = await latestEventId();
    const first = await json<ApplyJson>(['apply', file, '--yes']);
    expect(first.code).toBe(0);
    expect(subjects(first.body.applied)).toEqual(['rt.http', 'rt.charge', 'rt.timeout']);
    expect(first.body.refusal).toBeNull();
    expect(first.body.events.map((event) => [event.type, event.subject])).toEqual([
      ['component.registered', 'rt.http'],
      ['component.registered', 'rt.charge'],
      ['config.changed', 'rt.timeout'],
    ]);
    expect((await eventsAfter(before)).map((event) => event.id)).toEqual(first.body.events.map((event) => event.id));
    // The operator's value stays: a default only fills a key without one.
    expect((await admin.request(ConfigDocument, { key: 'rt.retries' })).config?.value).toBe(7);
    expect((await admin.request(ConfigDocument, { key: 'rt.timeout' })).config?.value).toBe('10s');

    const plan = await json<PlanJson>(['plan', file]);
    expect(plan.code).toBe(0);
    expect(plan.body.components).toEqual([]);
    expect(plan.body.summary).toEqual(NO_CHANGES);
    expect(plan.body.config.map((entry) => [entry.key, entry.action])).toEqual([
      ['rt.timeout', 'keep'],
      ['rt.retries', 'keep'],
    ]);
    const human = await switchboard(['plan', file, '--detailed-exitcode']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('No changes: the registry matches the manifest.');
    expect(human.stdout).toContain('= rt.retries keeps 7 (version 1); the default 3 is not applied');

    const quiet = await latestEventId();
    const second = await json<ApplyJson>(['apply', file, '--yes']);
    expect(second.code).toBe(0);
    expect(second.body.applied).toEqual([]);
    expect(await latestEventId()).toBe(quiet);
  });
});

describe('a changed field', () => {
  it('shows each changed field old -> new, and apply makes it so', async () => {
    const declared = [component('cf.step', { description: 'first', metadata: { tier: 'gold' }, dependencies: ['cf.base'] }), component('cf.base')];
    expect((await json(['apply', await manifestFile({ project: 'changes', components: declared }), '--yes'])).code).toBe(0);

    const changed = [
      component('cf.step', { version: '1.1.0', description: 'second', metadata: { tier: 'gold', region: 'eu' }, dependencies: ['cf.base@^1'] }),
      component('cf.base'),
    ];
    const file = await manifestFile({ project: 'changes', components: changed });
    const plan = await json<PlanJson>(['plan', file]);
    expect(plan.body.summary).toEqual({ add: 0, change: 1, remove: 0, configDefaults: 0 });
    expect(plan.body.components).toEqual([
      expect.objectContaining({
        action: 'change',
        id: 'cf.step',
        changes: [
          { field: 'version', from: '1.0.0', to: '1.1.0' },
          { field: 'description', from: 'first', to: 'second' },
          { field: 'dependencies', from: ['cf.base'], to: ['cf.base@^1'] },
          { field: 'metadata', from: { tier: 'gold' }, to: { tier: 'gold', region: 'eu' } },
        ],
      }),
    ]);
    const human = await switchboard(['plan', file, '--detailed-exitcode']);
    expect(human.code).toBe(2);
    expect(human.stdout).toContain(
      [
        '  ~ cf.step',
        '      version: "1.0.0" -> "1.1.0"',
        '      description: "first" -> "second"',
        '      dependencies: ["cf.base"] -> ["cf.base@^1"]',
        '      metadata: {"tier":"gold"} -> {"tier":"gold","region":"eu"}',
      ].join('\n'),
    );
    expect(human.stdout).toContain('Plan: 0 to add, 1 to change, 0 to remove, 0 config defaults to set.');

    const applied = await json<ApplyJson>(['apply', file, '--yes']);
    expect(applied.body.events.map((event) => [event.type, event.subject])).toEqual([['component.registered', 'cf.step']]);
    expect((await json<PlanJson>(['plan', file])).body.summary).toEqual(NO_CHANGES);
  });
});

describe('--prune', () => {
  it("removes only this project's components: another project's and a hand-registered one stay", async () => {
    await json(['apply', await manifestFile({ project: 'team-b', components: [component('pr.b-only')] }), '--yes']);
    await admin.request(RegisterComponentDocument, { input: { id: 'pr.by-hand', type: 'STEP', name: 'pr-by-hand', version: '1.0.0' } });
    const full = await manifestFile({ project: 'team-a', components: [component('pr.keep'), component('pr.drop')] });
    expect((await json(['apply', full, '--yes'])).code).toBe(0);
    expect(await liveIds('pr.')).toEqual(['pr.b-only', 'pr.by-hand', 'pr.drop', 'pr.keep']);

    const reduced = await manifestFile({ project: 'team-a', components: [component('pr.keep')] });
    expect((await json<PlanJson>(['plan', reduced])).body.components).toEqual([]);
    const plan = await json<PlanJson>(['plan', reduced, '--prune']);
    expect(plan.body.components.map((entry) => [entry.action, entry.id])).toEqual([['remove', 'pr.drop']]);
    expect((await switchboard(['plan', reduced, '--prune'])).stdout).toContain('  - pr.drop  STEP pr-drop 1.0.0');

    const applied = await json<ApplyJson>(['apply', reduced, '--prune', '--yes']);
    expect(applied.code).toBe(0);
    expect(applied.body.events.map((event) => [event.type, event.subject])).toEqual([['component.unregistered', 'pr.drop']]);
    expect(await liveIds('pr.')).toEqual(['pr.b-only', 'pr.by-hand', 'pr.keep']);
    expect((await json<PlanJson>(['plan', reduced, '--prune'])).body.summary).toEqual(NO_CHANGES);
  });

  it('refuses --prune for a manifest without a project: exit 2, nothing sent', async () => {
    const before = await latestEventId();
    const run = await switchboard(['apply', await manifestFile({ components: [component('pr.anonymous')] }), '--prune', '--yes']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--prune needs the manifest\'s "project"');
    expect(await latestEventId()).toBe(before);
  });
});

describe('a refused item', () => {
  it('names what was applied and what was not, exits with the refusal, and the registry matches the report', async () => {
    const token = await writeToken('ref.');
    // Dependency order puts the component outside the token's prefix in the middle.
    const file = await manifestFile({
      project: 'refused',
      components: [
        component('ref.last', { dependencies: ['other.middle'] }),
        component('other.middle', { dependencies: ['ref.first'] }),
        component('ref.first'),
      ],
      services: [service('ref-api', [{ field: 'timeout', key: 'ref.timeout', default: '5s' }])],
    });
    const before = await latestEventId();
    const run = await json<ApplyJson>(['apply', file, '--yes'], token);
    expect(run.code).toBe(6);
    expect(run.body.refusal).toMatchObject({ code: 'FORBIDDEN', step: { id: 'other.middle' } });
    expect(subjects(run.body.applied)).toEqual(['ref.first']);
    expect(subjects(run.body.notApplied)).toEqual(['other.middle', 'ref.last', 'ref.timeout']);
    expect(run.body.unknown).toEqual([]);
    expect(run.stderr).toContain('may not change component "other.middle"');

    // The registry holds exactly what the report says was applied, and its events say the same.
    expect(await liveIds('ref.')).toEqual(['ref.first']);
    expect(await liveIds('other.')).toEqual([]);
    expect((await admin.request(ConfigDocument, { key: 'ref.timeout' })).config).toBeNull();
    expect((await eventsAfter(before)).map((event) => [event.type, event.data['id']])).toEqual([['component.registered', 'ref.first']]);
    expect(run.body.events.map((event) => event.subject)).toEqual(['ref.first']);

    const human = await switchboard(['apply', file, '--yes'], token);
    expect(human.code).toBe(6);
    expect(human.stdout).toContain(
      [
        'Applied (0 of 3):',
        '  nothing',
        '',
        'Not applied (3):',
        '  + component other.middle  (refused)',
        '  + component ref.last',
        '  + config ref.timeout = "5s"',
      ].join('\n'),
    );
  });
});

describe('a default set between plan and apply', () => {
  it('is refused (CONFLICT), not overwritten, and reported as not applied', async () => {
    const manifest = manifestSchema.parse({
      manifestVersion: 1,
      project: 'race',
      components: [component('race.step')],
      services: [service('race-api', [{ field: 'timeout', key: 'race.timeout', default: '1s' }])],
    });
    const plan = planManifest(manifest, await readLiveState(admin, manifest), { prune: false });
    expect(plan.config.map((entry) => [entry.key, entry.action])).toEqual([['race.timeout', 'set']]);
    await admin.request(SetConfigDocument, { key: 'race.timeout', value: '30s' });

    const report = await applySteps(admin, stepsOf(plan));
    expect(report.refusal).toMatchObject({ code: 'CONFLICT', step: { kind: 'setDefault', key: 'race.timeout' } });
    expect(subjects(report.applied)).toEqual(['race.step']);
    expect(subjects(report.notApplied)).toEqual(['race.timeout']);
    expect((await admin.request(ConfigDocument, { key: 'race.timeout' })).config).toMatchObject({ value: '30s', version: 1 });
  });
});

describe('an invalid manifest', () => {
  it('reports every problem with its JSON path and sends nothing', async () => {
    const file = await manifestFile({
      project: 'invalid',
      components: [
        component('inv.a', { version: 'one' }),
        component('inv.b', { dependencies: ['inv.a@not a range'], metadata: { 'switchboard.manifest': 'someone' } }),
      ],
      services: [service('inv-api', [{ field: 'timeout', key: 'not a key', default: 1 }])],
    });
    const before = await latestEventId();
    const run = await json<{ error: { code: string; problems: { path: string; message: string }[] } }>(['apply', file, '--yes']);
    expect(run.code).toBe(2);
    expect(run.body.error.code).toBe('USAGE');
    expect(run.body.error.problems.map((problem) => problem.path)).toEqual([
      '$.services[0].configFields[0].key',
      '$.components[0].version',
      '$.components[1].dependencies[0]',
      '$.components[1].metadata["switchboard.manifest"]',
    ]);
    for (const problem of run.body.error.problems) expect(run.stderr).toContain(`  ${problem.path}: ${problem.message}`);

    const structural = await switchboard(['plan', await manifestFile({ components: [{ id: 'inv.c', type: 'NOPE' }] })]);
    expect(structural.code).toBe(2);
    expect(structural.stderr).toContain('$.components[0].type:');
    expect(structural.stderr).toContain('$.components[0].name:');
    expect(structural.stderr).toContain('$.components[0].version:');

    expect(await latestEventId()).toBe(before);
    expect(await liveIds('inv.')).toEqual([]);
  });
});

describe('dependency order', () => {
  it('registers dependencies before dependents and removes dependents first, whatever the manifest order', async () => {
    const file = await manifestFile({
      project: 'ordered',
      components: [
        component('ord.checkout', { type: 'FLOW', dependencies: ['ord.payment@^1'] }),
        component('ord.payment', { dependencies: ['ord-http'] }),
        { ...component('ord.http'), name: 'ord-http', version: '1.2.0' },
      ],
    });
    const before = await latestEventId();
    expect((await json(['apply', file, '--yes'])).code).toBe(0);
    const registered = await eventsAfter(before);
    expect(registered.map((event) => [event.type, event.data['id']])).toEqual([
      ['component.registered', 'ord.http'],
      ['component.registered', 'ord.payment'],
      ['component.registered', 'ord.checkout'],
    ]);

    const middle = await latestEventId();
    const empty = await manifestFile({ project: 'ordered', components: [] });
    expect((await json(['apply', empty, '--prune', '--yes'])).code).toBe(0);
    expect((await eventsAfter(middle)).map((event) => [event.type, event.data['id']])).toEqual([
      ['component.unregistered', 'ord.checkout'],
      ['component.unregistered', 'ord.payment'],
      ['component.unregistered', 'ord.http'],
    ]);
  });
});
