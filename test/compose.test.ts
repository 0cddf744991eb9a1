import { describe, expect, it } from 'vitest';
import {
  ComponentsDocument,
  ComposeFlowDocument,
  EventsDocument,
  FlowChangedDocument,
  HeartbeatDocument,
  RegisterComponentDocument,
  RegisterServiceDocument,
  SetMaintenanceDocument,
  UnregisterComponentDocument,
  type ComponentInput,
  type ComposeRequirements,
  type FlowCompositionFieldsFragment,
} from '@switchboard/client';
import { composeFlow, composeFlowLocally, MultiRegistry, SwitchboardRegistry } from '@switchboard/sdk';
import { runCli, type CliResult } from './support/cli.js';
import { errorCode, take } from './support/client.js';
import { useRegistryNode } from './support/nodes.js';
import { withTimeout } from './support/wait.js';

// Dynamic flow composition against a real server: composeFlow's choices and reasons, the same answer from
// the SDK's own computation, flowChanged's pushes, bad input, and `switchboard compose` as a process.
// Each test composes a flow of its own name, so the catalog they share does not mix their answers.

const registry = useRegistryNode();

async function register(...inputs: ComponentInput[]): Promise<void> {
  for (const input of inputs) await registry.client.request(RegisterComponentDocument, { input });
}

function component(name: string, version: string, extra: Partial<ComponentInput> = {}): ComponentInput {
  return { type: 'STEP', name, version, ...extra };
}

async function compose(flow: string, requirements?: ComposeRequirements): Promise<FlowCompositionFieldsFragment> {
  return (await registry.client.request(ComposeFlowDocument, { flow, requirements })).composeFlow;
}

const chosen = (composition: FlowCompositionFieldsFragment) => composition.components.map((entry) => entry.component.id);
const excluded = (composition: FlowCompositionFieldsFragment) =>
  Object.fromEntries(composition.excluded.map((entry) => [entry.component.id, { reason: entry.reason, related: entry.related }]));

describe('composeFlow', () => {
  it('stores flows and provider, returns them, and puts them in the event', async () => {
    const { registerComponent } = await registry.client.request(RegisterComponentDocument, {
      input: component('stored-step', '1.0.0', { flows: ['stored', 'stored@^2', 'tag:payments'], provider: 'stored-svc' }),
    });
    expect(registerComponent).toMatchObject({ flows: ['stored', 'stored@^2', 'tag:payments'], provider: 'stored-svc' });
    const { components } = await registry.client.request(ComponentsDocument, { name: 'stored-step' });
    expect(components[0]).toMatchObject({ flows: ['stored', 'stored@^2', 'tag:payments'], provider: 'stored-svc' });
    const { events } = await registry.client.request(EventsDocument, { types: ['component.registered'] });
    const data = events.find((event) => (event.data as { id: string }).id === 'stored-step@1.0.0')!.data as { component: Record<string, unknown> };
    expect(data.component).toMatchObject({ flows: ['stored', 'stored@^2', 'tag:payments'], provider: 'stored-svc' });
  });

  it('resolves each name to one version, dependencies first, and says which versions conflicted', async () => {
    await register(
      component('cv-http', '1.4.0', { type: 'PLUGIN' }),
      component('cv-http', '2.1.0', { type: 'PLUGIN' }),
      component('cv-charge', '1.0.0', { dependencies: ['cv-http@^1'], flows: ['conflict'] }),
      component('cv-charge', '2.0.0', { dependencies: ['cv-http@^2'], flows: ['conflict'] }),
      component('cv-fx', '1.0.0', { type: 'TRANSFORMER', dependencies: ['cv-http@^1'], flows: ['conflict'] }),
    );
    const composition = await compose('conflict');
    // The step is placed first (type order), at its highest version; its dependency comes before it.
    expect(chosen(composition)).toEqual(['cv-http@2.1.0', 'cv-charge@2.0.0']);
    expect(composition.components.map((entry) => entry.role)).toEqual(['DEPENDENCY', 'COMPATIBLE']);
    expect(composition.components[1]!.dependsOn).toEqual(['cv-http@2.1.0']);
    expect(excluded(composition)).toEqual({
      'cv-charge@1.0.0': { reason: 'VERSION_CONFLICT', related: ['cv-charge@2.0.0'] },
      'cv-fx@1.0.0': { reason: 'VERSION_CONFLICT', related: ['cv-http@2.1.0'] },
    });
    const fx = composition.excluded.find((entry) => entry.component.id === 'cv-fx@1.0.0')!;
    expect(fx.message).toBe('cv-fx@1.0.0 requires cv-http@^1, but cv-http@2.1.0 is in the flow (needed by cv-charge@2.0.0).');
    expect(composition.complete).toBe(true);
  });

  it('leaves out a component whose dependency is missing, and falls back to a version whose dependencies resolve', async () => {
    await register(
      component('md-geo', '1.0.0', { type: 'PLUGIN' }),
      component('md-fraud', '1.0.0', { type: 'VALIDATOR', dependencies: ['md-geo@^1'], flows: ['missing'] }),
      component('md-fraud', '2.0.0', { type: 'VALIDATOR', dependencies: ['md-geo@^2'], flows: ['missing'] }),
      component('md-score', '1.0.0', { type: 'VALIDATOR', dependencies: ['md-model'], flows: ['missing'] }),
    );
    const composition = await compose('missing');
    expect(chosen(composition)).toEqual(['md-geo@1.0.0', 'md-fraud@1.0.0']);
    expect(excluded(composition)).toEqual({
      'md-fraud@2.0.0': { reason: 'MISSING_DEPENDENCY', related: ['md-geo@^2'] },
      'md-score@1.0.0': { reason: 'MISSING_DEPENDENCY', related: ['md-model'] },
    });
    expect(composition.excluded.find((entry) => entry.component.id === 'md-fraud@2.0.0')!.message).toBe(
      'md-fraud@2.0.0 needs md-geo@^2, and no registered version is in range (registered: 1.0.0).',
    );
  });

  it('leaves out a component whose provider has no passing instance, and takes it once one passes', async () => {
    // A TTL check starts critical; a heartbeat passes it.
    await registry.client.request(RegisterServiceDocument, { input: { id: 'up-audit-1', name: 'up-audit', address: '10.9.0.1', healthCheck: { ttl: '1h' } } });
    await register(component('up-audit', '1.0.0', { type: 'MIDDLEWARE', flows: ['unhealthy'], provider: 'up-audit' }));
    const before = await compose('unhealthy');
    expect(chosen(before)).toEqual([]);
    expect(excluded(before)).toEqual({ 'up-audit@1.0.0': { reason: 'UNHEALTHY_PROVIDER', related: ['up-audit'] } });
    expect(before.excluded[0]!.message).toBe('up-audit@1.0.0 runs on the service "up-audit", which has no passing instance.');

    await registry.client.request(HeartbeatDocument, { id: 'up-audit-1' });
    await expect.poll(async () => chosen(await compose('unhealthy')), { timeout: 10_000 }).toEqual(['up-audit@1.0.0']);
  });

  it('composes a FLOW component from its declared steps, in order, and names the step that is missing', async () => {
    await register(
      component('order-flow', '1.0.0', {
        type: 'FLOW',
        metadata: { steps: ['of-validate', 'of-charge@^2', 'of-ship'], timeout: '30s', tags: ['of-payments'] },
      }),
      component('order-flow', '2.0.0', { type: 'FLOW', metadata: { steps: ['of-ship', 'of-validate'], timeout: '10s' } }),
      component('of-validate', '1.0.0'),
      component('of-charge', '1.5.0'),
      component('of-charge', '2.2.0', { dependencies: ['of-ledger'] }),
      component('of-ledger', '1.0.0', { type: 'PLUGIN' }),
      component('of-audit', '1.0.0', { type: 'MIDDLEWARE', flows: ['tag:of-payments'] }),
      component('of-log', '1.0.0', { type: 'MIDDLEWARE', flows: ['order-flow@^2'] }),
    );
    const composition = await compose('order-flow', { flowVersion: '^1' });
    expect(composition.flow).toMatchObject({
      name: 'order-flow',
      version: '1.0.0',
      timeout: '30s',
      tags: ['of-payments'],
      steps: ['of-validate', 'of-charge@^2', 'of-ship'],
    });
    expect(composition.flow.component?.id).toBe('order-flow@1.0.0');
    // Declared steps keep their order (a dependency goes before what needs it); a tag match joins; ^2 does not.
    expect(chosen(composition)).toEqual(['of-validate@1.0.0', 'of-ledger@1.0.0', 'of-charge@2.2.0', 'of-audit@1.0.0']);
    expect(composition.components.map((entry) => entry.role)).toEqual(['STEP', 'DEPENDENCY', 'STEP', 'COMPATIBLE']);
    expect(excluded(composition)).toEqual({ 'of-log@1.0.0': { reason: 'INCOMPATIBLE', related: ['order-flow@^2'] } });
    expect(composition.problems).toEqual([{ code: 'MISSING_STEP', subject: 'of-ship', message: 'The step of-ship is not registered.' }]);
    expect(composition.complete).toBe(false);

    // The newest FLOW by default: its own steps, and of-log's ^2 now fits.
    const newest = await compose('order-flow');
    expect(newest.flow.version).toBe('2.0.0');
    expect(newest.problems.map((problem) => problem.subject)).toEqual(['of-ship']);
    expect(chosen(newest)).toEqual(['of-validate@1.0.0', 'of-log@1.0.0']);
  });

  it('leaves out the members of a dependency cycle, naming it', async () => {
    await register(
      component('cy-a', '1.0.0', { type: 'VALIDATOR', dependencies: ['cy-b'], flows: ['cyclic'] }),
      component('cy-b', '1.0.0', { type: 'VALIDATOR', dependencies: ['cy-a'], flows: ['cyclic'] }),
      component('cy-c', '1.0.0', { type: 'VALIDATOR', flows: ['cyclic'] }),
    );
    const composition = await compose('cyclic');
    expect(chosen(composition)).toEqual(['cy-c@1.0.0']);
    expect(excluded(composition)).toEqual({
      'cy-a@1.0.0': { reason: 'CYCLE', related: ['cy-a@1.0.0', 'cy-b@1.0.0'] },
      'cy-b@1.0.0': { reason: 'CYCLE', related: ['cy-b@1.0.0', 'cy-a@1.0.0'] },
    });
    expect(composition.excluded[0]!.message).toBe('cy-a@1.0.0 needs cy-b: dependency cycle: cy-a@1.0.0 -> cy-b@1.0.0 -> cy-a@1.0.0.');
  });

  it('takes a required component, and reports a requirement nothing satisfies', async () => {
    await register(component('rq-helper', '1.0.0', { type: 'PLUGIN' }), component('rq-step', '1.0.0', { flows: ['required'] }));
    const composition = await compose('required', { require: ['rq-helper@^1', 'rq-absent'] });
    expect(chosen(composition)).toEqual(['rq-step@1.0.0', 'rq-helper@1.0.0']);
    expect(composition.components.map((entry) => entry.role)).toEqual(['COMPATIBLE', 'REQUIRED']);
    expect(composition.problems).toEqual([
      { code: 'MISSING_REQUIREMENT', subject: 'rq-absent', message: 'The required component rq-absent is not registered.' },
    ]);
    expect(composition.complete).toBe(false);
  });

  it("gives the same answer as the SDK's own computation over the same catalog", async () => {
    // One catalog with every kind of exclusion, healthy and unhealthy providers, and a FLOW with a missing step.
    await registry.client.request(RegisterServiceDocument, { input: { id: 'sdk-up-1', name: 'sdk-up', address: '10.9.1.1' } });
    await registry.client.request(RegisterServiceDocument, { input: { id: 'sdk-down-1', name: 'sdk-down', address: '10.9.1.2', healthCheck: { ttl: '1h' } } });
    await register(
      component('sdk-flow', '1.0.0', { type: 'FLOW', metadata: { steps: ['sdk-charge', 'sdk-ship'], tags: ['sdk-tag'] } }),
      component('sdk-http', '1.0.0', { type: 'PLUGIN', provider: 'sdk-up' }),
      component('sdk-http', '2.0.0', { type: 'PLUGIN' }),
      component('sdk-charge', '1.0.0', { dependencies: ['sdk-http@^1'] }),
      component('sdk-charge', '2.0.0', { dependencies: ['sdk-http@^2', 'sdk-absent'] }),
      component('sdk-fx', '1.0.0', { type: 'TRANSFORMER', dependencies: ['sdk-http@^2'], flows: ['sdk-flow@^1'] }),
      component('sdk-audit', '1.0.0', { type: 'MIDDLEWARE', flows: ['tag:sdk-tag'], provider: 'sdk-down' }),
      component('sdk-log', '1.0.0', { type: 'MIDDLEWARE', flows: ['sdk-flow'], provider: 'sdk-up' }),
      component('sdk-a', '1.0.0', { type: 'VALIDATOR', dependencies: ['sdk-b'], flows: ['sdk-flow'] }),
      component('sdk-b', '1.0.0', { type: 'VALIDATOR', dependencies: ['sdk-a'], flows: ['sdk-flow'] }),
      component('sdk-old', '1.0.0', { type: 'VALIDATOR', flows: ['sdk-flow@^2'] }),
    );
    const server = new SwitchboardRegistry(registry.clients.create(registry.node.url), { registerAttempts: 1 });
    // A MultiRegistry is not a SwitchboardRegistry: composeFlow computes locally over it (listComponents, discoverServices).
    const anyRegistry = new MultiRegistry([server]);
    try {
      const fromServer = await composeFlow(server, 'sdk-flow');
      expect(chosen(fromServer as never)).toEqual(['sdk-http@1.0.0', 'sdk-charge@1.0.0', 'sdk-log@1.0.0']);
      expect(Object.fromEntries(fromServer.excluded.map((entry) => [entry.component.id, entry.reason]))).toEqual({
        'sdk-charge@2.0.0': 'MISSING_DEPENDENCY',
        'sdk-fx@1.0.0': 'VERSION_CONFLICT',
        'sdk-a@1.0.0': 'CYCLE',
        'sdk-b@1.0.0': 'CYCLE',
        'sdk-old@1.0.0': 'INCOMPATIBLE',
        'sdk-audit@1.0.0': 'UNHEALTHY_PROVIDER',
      });
      expect(fromServer.problems.map((problem) => problem.code)).toEqual(['MISSING_STEP']);
      for (const requirements of [undefined, { require: ['sdk-http@^2'] }, { types: ['MIDDLEWARE' as const] }, { flowVersion: '^2' }]) {
        const label = JSON.stringify(requirements);
        const expected = comparable(await composeFlow(server, 'sdk-flow', requirements));
        expect(comparable(await composeFlow(anyRegistry, 'sdk-flow', requirements)), label).toEqual(expected);
        expect(comparable(await composeFlowLocally(server, 'sdk-flow', requirements)), label).toEqual(expected);
      }
    } finally {
      await anyRegistry.close();
    }
  });
});

/** The composition without what a backend may add to a component (a MultiRegistry's provenance). */
function comparable(composition: Awaited<ReturnType<typeof composeFlow>>) {
  const id = (entry: { component: { id: string } }) => entry.component.id;
  return {
    flow: { ...composition.flow, component: composition.flow.component?.id ?? null },
    components: composition.components.map((entry) => ({ ...entry, component: id(entry) })),
    excluded: composition.excluded.map((entry) => ({ ...entry, component: id(entry) })),
    problems: composition.problems,
    complete: composition.complete,
  };
}

describe('flowChanged', () => {
  it('pushes the composition now, then when a compatible step arrives or a provider turns unhealthy, and not for an unrelated change', async () => {
    await registry.client.request(RegisterServiceDocument, { input: { id: 'live-svc-1', name: 'live-svc', address: '10.9.0.2' } });
    await register(component('live-a', '1.0.0', { flows: ['live'] }));
    const stream = registry.client.subscribe(FlowChangedDocument, { flow: 'live' });
    try {
      const [first] = await take(stream, 1);
      expect(chosen(first!.flowChanged)).toEqual(['live-a@1.0.0']);

      await register(component('live-b', '1.0.0', { flows: ['live'], provider: 'live-svc' }));
      const [second] = await take(stream, 1);
      expect(chosen(second!.flowChanged)).toEqual(['live-a@1.0.0', 'live-b@1.0.0']);

      // Unrelated: a service no component runs on, and a component of another flow. A watcher of that
      // flow pushes once both are handled (the feed is in order), so the related change below is not
      // coalesced with them: had they made 'live' push, that message would come first.
      const elsewhere = registry.client.subscribe(FlowChangedDocument, { flow: 'elsewhere' });
      try {
        expect(chosen((await take(elsewhere, 1))[0]!.flowChanged)).toEqual([]);
        await registry.client.request(RegisterServiceDocument, { input: { id: 'live-other-1', name: 'live-other', address: '10.9.0.3' } });
        await register(component('live-elsewhere', '1.0.0', { flows: ['elsewhere'] }));
        expect(chosen((await take(elsewhere, 1))[0]!.flowChanged)).toEqual(['live-elsewhere@1.0.0']);
      } finally {
        await elsewhere.return?.();
      }
      // Related: the provider goes into maintenance. The next message must be this one.
      await registry.client.request(SetMaintenanceDocument, { id: 'live-svc-1', enabled: true, reason: 'test' });
      const [third] = await take(stream, 1);
      expect(chosen(third!.flowChanged)).toEqual(['live-a@1.0.0']);
      expect(excluded(third!.flowChanged)).toEqual({ 'live-b@1.0.0': { reason: 'UNHEALTHY_PROVIDER', related: ['live-svc'] } });

      // A dependency removed.
      await register(component('live-dep', '1.0.0', { type: 'PLUGIN' }), component('live-c', '1.0.0', { flows: ['live'], dependencies: ['live-dep'] }));
      const [fourth] = await take(stream, 1);
      expect(chosen(fourth!.flowChanged)).toContain('live-c@1.0.0');
      await registry.client.request(UnregisterComponentDocument, { id: 'live-dep@1.0.0' });
      const [fifth] = await take(stream, 1);
      expect(excluded(fifth!.flowChanged)['live-c@1.0.0']).toEqual({ reason: 'MISSING_DEPENDENCY', related: ['live-dep'] });
    } finally {
      await stream.return?.();
    }
  });

  it('refuses a bad flow name when subscribing', async () => {
    const stream = registry.client.subscribe(FlowChangedDocument, { flow: 'not a flow' });
    try {
      await expect(withTimeout(stream.next(), 10_000, 'no answer')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    } finally {
      await stream.return?.();
    }
  });
});

describe('bad input', () => {
  it('refuses a bad flow name or requirement with BAD_USER_INPUT', async () => {
    expect(await errorCode(compose('not a flow'))).toBe('BAD_USER_INPUT');
    expect(await errorCode(compose('fine', { require: ['not a component'] }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(compose('fine', { flowVersion: 'soon' }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(compose('fine', { types: ['FLOW'] }))).toBe('BAD_USER_INPUT');
  });

  it('refuses a bad range in flows, or a bad provider, and stores nothing', async () => {
    const { events: before } = await registry.client.request(EventsDocument, { types: ['component.registered'] });
    expect(
      await errorCode(registry.client.request(RegisterComponentDocument, { input: component('bad-flows', '1.0.0', { flows: ['checkout@not-a-range'] }) })),
    ).toBe('BAD_USER_INPUT');
    expect(await errorCode(registry.client.request(RegisterComponentDocument, { input: component('bad-flows', '1.0.0', { flows: ['tag:'] }) }))).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      await errorCode(registry.client.request(RegisterComponentDocument, { input: component('bad-flows', '1.0.0', { provider: 'no spaces please' }) })),
    ).toBe('BAD_USER_INPUT');
    expect((await registry.client.request(ComponentsDocument, { name: 'bad-flows' })).components).toEqual([]);
    const { events: after } = await registry.client.request(EventsDocument, { types: ['component.registered'] });
    expect(after.length).toBe(before.length);
  });
});

describe('switchboard compose', () => {
  const sb = (args: string[]) => runCli(args, { env: { SWITCHBOARD_URL: registry.node.url, NO_COLOR: '1' } });
  const ok = (result: CliResult) => {
    expect(result.code, result.stderr).toBe(0);
    return result;
  };

  it('prints the components in order and those left out with why; --json is the composition', async () => {
    await register(
      component('cli-flow', '1.0.0', { type: 'FLOW', metadata: { steps: ['cli-validate', 'cli-charge', 'cli-ship'] } }),
      component('cli-validate', '1.0.0'),
      component('cli-charge', '1.0.0', { dependencies: ['cli-http@^1'] }),
      component('cli-http', '1.2.0', { type: 'PLUGIN' }),
      component('cli-audit', '1.0.0', { type: 'MIDDLEWARE', flows: ['cli-flow'], provider: 'cli-nobody' }),
      component('cli-log', '1.0.0', { type: 'MIDDLEWARE', flows: ['cli-flow@^2'] }),
      component('cli-extra', '1.0.0', { type: 'PLUGIN' }),
    );
    const human = ok(await sb(['compose', 'cli-flow']));
    expect(human.stdout).toContain('cli-flow 1.0.0 (FLOW cli-flow@1.0.0): incomplete');
    expect(human.stdout).toContain('declared steps: cli-validate -> cli-charge -> cli-ship');
    const rows = ['cli-validate', 'cli-http', 'cli-charge'].map((name) => human.stdout.search(new RegExp(`^\\d+\\s+\\w+\\s+${name}\\s`, 'm')));
    expect(rows.every((position) => position >= 0)).toBe(true);
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
    expect(human.stdout).toMatch(/cli-log\s+1\.0\.0\s+INCOMPATIBLE\s+cli-log@1\.0\.0 declares cli-flow@\^2, but the flow is 1\.0\.0\./);
    expect(human.stdout).toMatch(/cli-audit\s+1\.0\.0\s+UNHEALTHY_PROVIDER\s+cli-audit@1\.0\.0 runs on the service "cli-nobody"/);
    expect(human.stdout).toContain('MISSING_STEP cli-ship: The step cli-ship is not registered.');

    const json = ok(await sb(['compose', 'cli-flow', '--require', 'cli-extra@^1', '--json'])).json<FlowCompositionFieldsFragment>();
    expect(chosen(json)).toEqual(['cli-validate@1.0.0', 'cli-http@1.2.0', 'cli-charge@1.0.0', 'cli-extra@1.0.0']);
    expect(json.components.map((entry) => entry.role)).toEqual(['STEP', 'DEPENDENCY', 'STEP', 'REQUIRED']);
    expect(excluded(json)).toEqual({
      'cli-log@1.0.0': { reason: 'INCOMPATIBLE', related: ['cli-flow@^2'] },
      'cli-audit@1.0.0': { reason: 'UNHEALTHY_PROVIDER', related: ['cli-nobody'] },
    });
    expect(json.complete).toBe(false);
  });

  it('exits 1 with --strict when the flow is incomplete, 0 when it is complete, and 2 on a bad flow name', async () => {
    await register(
      component('cli-strict', '1.0.0', { type: 'FLOW', metadata: { steps: ['cli-strict-missing'] } }),
      component('cli-whole', '1.0.0', { flows: ['cli-whole'] }),
    );
    const strict = await sb(['compose', 'cli-strict', '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('flow "cli-strict" is not complete: The step cli-strict-missing is not registered.');
    ok(await sb(['compose', 'cli-whole', '--strict']));
    const bad = await sb(['compose', 'not a flow', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('BAD_USER_INPUT');
  });
});
