import { composeFlow as composeCatalog, type ComposableComponent, type ComponentTypeValue } from '@switchboard/contracts';
import { composeFlow, composeFlowLocally, MultiRegistry, SwitchboardRegistry, type Component } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { useRegistryNode } from '../../../test/support/nodes.js';

/**
 * The SDK's composeFlow: on a SwitchboardRegistry it is one `composeFlow` query; on any other registry it is
 * computed here from listComponents and the providers' passing instances, by the algorithm in
 * @switchboard/contracts (whose answers test/compose.test.ts compares with the server's). The algorithm's own
 * rules are checked first, on catalogs in memory.
 */

function item(
  id: string,
  type: ComponentTypeValue,
  options: { dependencies?: string[]; flows?: string[]; provider?: string; metadata?: Record<string, unknown> } = {},
): ComposableComponent {
  const [name, version] = id.split('@') as [string, string];
  return {
    id,
    type,
    name,
    version,
    dependencies: (options.dependencies ?? []).map((spec) => {
      const [dependency, range] = spec.split('@') as [string, string | undefined];
      return { name: dependency, range: range ?? '*' };
    }),
    metadata: options.metadata ?? {},
    flows: options.flows ?? [],
    provider: options.provider ?? null,
  };
}

const healthy = { providerHealthy: () => true };
const ids = (entries: readonly { component: { id: string } }[]) => entries.map((entry) => entry.component.id);

describe('the composition algorithm', () => {
  it('does not depend on the order the catalog is listed in', () => {
    const catalog = [
      item('z-step@1.0.0', 'STEP', { flows: ['f'], dependencies: ['lib@^1'] }),
      item('a-step@1.0.0', 'STEP', { flows: ['f'] }),
      item('lib@1.2.0', 'PLUGIN'),
      item('lib@1.9.0', 'PLUGIN'),
      item('check@1.0.0', 'VALIDATOR', { flows: ['f'] }),
    ];
    const forward = composeCatalog('f', catalog, healthy);
    expect(composeCatalog('f', [...catalog].reverse(), healthy)).toEqual(forward);
    // By type (STEP before VALIDATOR), then name; the dependency right before what needs it, at its highest version in range.
    expect(ids(forward.components)).toEqual(['a-step@1.0.0', 'lib@1.9.0', 'z-step@1.0.0', 'check@1.0.0']);
  });

  it('backtracks to a lower version of a dependency whose own dependencies resolve', () => {
    const composition = composeCatalog(
      'f',
      [
        item('step@1.0.0', 'STEP', { flows: ['f'], dependencies: ['lib@^1'] }),
        item('lib@1.5.0', 'PLUGIN', { dependencies: ['gone'] }),
        item('lib@1.1.0', 'PLUGIN'),
      ],
      healthy,
    );
    expect(ids(composition.components)).toEqual(['lib@1.1.0', 'step@1.0.0']);
    expect(composition.excluded).toEqual([]); // lib@1.5.0 was never a candidate of the flow, only a dependency's option
  });

  it('checks "flow@range" against flowVersion when no FLOW component is registered, and says when the version is unknown', () => {
    const catalog = [item('v2@1.0.0', 'STEP', { flows: ['f@^2'] }), item('v3@1.0.0', 'STEP', { flows: ['f@^3'] }), item('any@1.0.0', 'STEP', { flows: ['f'] })];
    expect(ids(composeCatalog('f', catalog, { ...healthy, requirements: { flowVersion: '2.4.0' } }).components)).toEqual(['any@1.0.0', 'v2@1.0.0']);
    expect(ids(composeCatalog('f', catalog, { ...healthy, requirements: { flowVersion: '>=2.5' } }).components)).toEqual(['any@1.0.0', 'v2@1.0.0', 'v3@1.0.0']);
    const unknown = composeCatalog('f', catalog, healthy);
    expect(ids(unknown.components)).toEqual(['any@1.0.0']);
    expect(unknown.excluded.map((entry) => [entry.component.id, entry.reason, entry.message])).toEqual([
      ['v2@1.0.0', 'INCOMPATIBLE', "v2@1.0.0 declares f@^2, but the flow's version is unknown (register the FLOW component or give flowVersion)."],
      ['v3@1.0.0', 'INCOMPATIBLE', "v3@1.0.0 declares f@^3, but the flow's version is unknown (register the FLOW component or give flowVersion)."],
    ]);
  });

  it('reports a FLOW whose steps cannot be read, and a flowVersion no FLOW component is in', () => {
    const catalog = [
      item('f@1.0.0', 'FLOW', { metadata: { steps: 'not-a-list' } }),
      item('g@1.0.0', 'FLOW', { metadata: { steps: ['ok', 'not a name'] } }),
      item('ok@1.0.0', 'STEP'),
    ];
    expect(composeCatalog('f', catalog, healthy).problems.map((problem) => problem.code)).toEqual(['INVALID_FLOW']);
    const g = composeCatalog('g', catalog, healthy);
    expect(g.problems.map((problem) => problem.code)).toEqual(['INVALID_FLOW']);
    expect(ids(g.components)).toEqual(['ok@1.0.0']);
    const missing = composeCatalog('f', catalog, { ...healthy, requirements: { flowVersion: '^2' } });
    expect(missing.problems).toEqual([
      { code: 'UNKNOWN_FLOW_VERSION', subject: 'f', message: 'No FLOW "f" in ^2 is registered (registered: 1.0.0); composed without its declared steps.' },
    ]);
    expect(missing.complete).toBe(false);
  });

  it('leaves out a component whose dependency runs on an unhealthy provider, saying which', () => {
    const composition = composeCatalog(
      'f',
      [item('step@1.0.0', 'STEP', { flows: ['f'], dependencies: ['fx'] }), item('fx@1.0.0', 'PLUGIN', { provider: 'rates' })],
      {
        providerHealthy: (service) => service !== 'rates',
      },
    );
    expect(composition.excluded.map((entry) => [entry.component.id, entry.reason, entry.message, entry.related])).toEqual([
      ['step@1.0.0', 'UNHEALTHY_PROVIDER', 'step@1.0.0 needs fx: fx@1.0.0 runs on the service "rates", which has no passing instance.', ['rates']],
    ]);
  });

  it('refuses bad requests with BAD_USER_INPUT', () => {
    expect(() => composeCatalog('two words', [], healthy)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => composeCatalog('f', [], { ...healthy, requirements: { require: ['@@'] } })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => composeCatalog('f', [], { ...healthy, requirements: { types: ['FLOW'] } })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});

const fixture = useRegistryNode();

function countingRegistry() {
  const counter = { requests: [] as string[] };
  const fetchImpl: typeof fetch = async (input, init) => {
    const body = JSON.parse(String(init?.body ?? '{}')) as { operationName?: string; query?: string };
    counter.requests.push(body.operationName ?? /^\s*(?:query|mutation)\s+(\w+)/.exec(body.query ?? '')?.[1] ?? '?');
    return fetch(input, init);
  };
  const client = fixture.clients.create(fixture.node.url, undefined, { fetch: fetchImpl });
  return { registry: new SwitchboardRegistry(client, { registerAttempts: 1 }), counter };
}

describe('composeFlow over a registry', () => {
  const catalog: Component[] = [
    { type: 'STEP', name: 'reg-charge', version: '1.0.0', flows: ['reg-flow'], provider: 'reg-payments' },
    { type: 'TRANSFORMER', name: 'reg-fx', version: '1.0.0', flows: ['reg-flow'], dependencies: ['reg-rates'] },
  ];

  it('asks the server once on a SwitchboardRegistry, and computes it from listComponents and discovery on any other', async () => {
    const { registry, counter } = countingRegistry();
    await registry.registerService({ id: 'reg-payments-1', name: 'reg-payments', address: '10.8.0.1' });
    for (const component of catalog) await registry.registerComponent(component);

    counter.requests = [];
    const fromServer = await composeFlow(registry, 'reg-flow');
    expect(counter.requests).toEqual(['ComposeFlow']);
    expect(ids(fromServer.components)).toEqual(['reg-charge@1.0.0']);
    expect(fromServer.components[0]!.component).toMatchObject({ flows: ['reg-flow'], provider: 'reg-payments' });
    expect(fromServer.excluded.map((entry) => [entry.component.id, entry.reason])).toEqual([['reg-fx@1.0.0', 'MISSING_DEPENDENCY']]);

    counter.requests = [];
    const multi = new MultiRegistry([registry]);
    try {
      const local = await composeFlow(multi, 'reg-flow');
      expect(counter.requests.sort()).toEqual(['Components', 'DiscoverServices']);
      expect(ids(local.components)).toEqual(ids(fromServer.components));
      expect(local.excluded.map((entry) => entry.message)).toEqual(fromServer.excluded.map((entry) => entry.message));
    } finally {
      await multi.close();
    }
  });

  it('refuses a bad flow name before sending anything', async () => {
    const { registry, counter } = countingRegistry();
    counter.requests = [];
    await expect(composeFlow(registry, 'not a flow')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(composeFlowLocally(registry, 'fine', { flowVersion: 'soon' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(counter.requests).toEqual([]);
  });

  it('refuses a bad flows entry when registering, with the server’s rule', async () => {
    const { registry } = countingRegistry();
    await expect(registry.registerComponent({ type: 'STEP', name: 'reg-bad', version: '1.0.0', flows: ['reg-flow@^^'] })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    expect(await registry.getComponent('reg-bad@1.0.0')).toBeUndefined();
  });
});
