import { afterEach, describe, expect, it } from 'vitest';
import {
  ComponentDocument,
  ComponentGraphDocument,
  ComponentsDocument,
  DependencyOrderDocument,
  EventsDocument,
  RegisterComponentDocument,
  UnregisterComponentDocument,
  type ComponentInput,
} from '@switchboard/client';
import { connectDatabase } from '../src/db/client.js';
import { newExecutionCounters } from '../src/graphql/context.js';
import { EventFeed } from '../src/events/feed.js';
import { createLogger } from '../src/logger.js';
import { loadSettings } from '../src/settings.js';
import { createGraphQLHandler } from '../src/server/graphql.js';
import { registrySettingsFrom } from '../src/server/node.js';
import { Authenticator } from '../src/server/auth.js';
import { OPEN_PRINCIPAL } from '../src/registry/access/index.js';
import { OutcomeReporter } from '../src/registry/breakers/index.js';
import { HeartbeatWriter, RegistrationWriter } from '../src/registry/services/index.js';
import { SelectionState } from '../src/registry/selection/index.js';
import { Catalog } from '../src/registry/catalog/index.js';
import { ConfigWriter } from '../src/registry/config/index.js';
import { errorCode } from './support/client.js';
import { tracked } from './support/leaks.js';
import { useRegistryNode } from './support/nodes.js';

const registry = useRegistryNode();

afterEach(async () => {
  await registry.database.sql`delete from components`;
});

const register = (input: ComponentInput) => registry.client.request(RegisterComponentDocument, { input }).then((result) => result.registerComponent);
const graph = (id: string) => registry.client.request(ComponentGraphDocument, { id }).then((result) => result.component!);

/** The framework's own examples: an API-calling step and the transformer that uses it. */
const customApiStep: ComponentInput = {
  type: 'STEP',
  name: 'CustomAPIStep',
  version: '1.2.0',
  description: 'Calls a partner API with retries and maps the response.',
  dependencies: ['http-client@^2.1', 'retry-policy'],
  metadata: {
    inputs: [{ name: 'orderId', type: 'string', required: true }],
    outputs: [{ name: 'status', type: 'string' }],
    config: { endpoint: { url: 'https://partner.example.com/v1/orders', method: 'POST' }, timeout: '30s', retries: 3, headers: { 'x-api-version': '2024-01' } },
  },
};

const businessTransformer: ComponentInput = {
  type: 'TRANSFORMER',
  name: 'BusinessTransformer',
  version: '2.3.0',
  description: 'Applies pricing rules to an order.',
  dependencies: ['CustomAPIStep@^1'],
  metadata: {
    rules: [
      { when: { country: 'DE' }, then: { vat: 0.19 } },
      { when: { country: 'FR' }, then: { vat: 0.2 } },
    ],
    strict: true,
  },
};

describe('the component catalogue', () => {
  it('round-trips the CustomAPIStep and BusinessTransformer examples', async () => {
    const step = await register(customApiStep);
    const transformer = await register(businessTransformer);

    expect(step).toMatchObject({
      id: 'CustomAPIStep@1.2.0',
      type: 'STEP',
      name: 'CustomAPIStep',
      version: '1.2.0',
      description: customApiStep.description,
      metadata: customApiStep.metadata,
      dependencies: [
        { name: 'http-client', range: '^2.1', spec: 'http-client@^2.1' },
        { name: 'retry-policy', range: '*', spec: 'retry-policy' },
      ],
    });
    expect(transformer).toMatchObject({ id: 'BusinessTransformer@2.3.0', type: 'TRANSFORMER', metadata: businessTransformer.metadata });
    expect((await registry.client.request(ComponentDocument, { id: step.id })).component).toEqual(step);
    expect((await registry.client.request(ComponentDocument, { id: 'nope@1.0.0' })).component).toBeNull();

    const { events } = await registry.client.request(EventsDocument, { types: ['component.*'] });
    expect(events.slice(-2).map((event) => [event.type, (event.data as { id: string }).id])).toEqual([
      ['component.registered', 'CustomAPIStep@1.2.0'],
      ['component.registered', 'BusinessTransformer@2.3.0'],
    ]);
  });

  it('lists by type and name, and refuses a type that does not exist', async () => {
    await register(customApiStep);
    await register(businessTransformer);
    await register({ type: 'STEP', name: 'SendEmail', version: '0.9.0' });

    const steps = await registry.client.request(ComponentsDocument, { type: 'STEP' });
    expect(steps.components.map((component) => component.name)).toEqual(['CustomAPIStep', 'SendEmail']);
    const byName = await registry.client.request(ComponentsDocument, { name: 'BusinessTransformer' });
    expect(byName.components.map((component) => component.id)).toEqual(['BusinessTransformer@2.3.0']);

    expect(await errorCode(registry.client.request(ComponentsDocument, { type: 'WIDGET' as never }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(register({ ...customApiStep, type: 'WIDGET' as never }))).toBe('BAD_USER_INPUT');
  });

  it('refuses bad definitions and writes nothing', async () => {
    const bad: Partial<ComponentInput>[] = [
      { version: 'one' },
      // With ids: refused for the name itself, not for lacking a default id.
      { id: 'empty-name', name: '' },
      { id: 'blank-name', name: '   ' }, // a display name may have spaces, not only spaces
      { id: 'padded-name', name: ' Custom API Step' },
      { name: '数据转换' }, // no id given, and no letters or digits to derive one from
      { name: 'x'.repeat(129) },
      { name: 'tab\tinside' },
      { name: 'right-to-left\u202eoverride' },
      { dependencies: ['http-client@not a range'] },
      { dependencies: ['CustomAPIStep'] }, // itself
      { dependencies: ['a', 'a@^1'] },
      { metadata: ['not', 'an', 'object'] },
      { metadata: { big: 'x'.repeat(70 * 1024) } },
      { description: 'nul\u0000byte' },
    ];
    for (const overrides of bad) {
      expect(await errorCode(register({ ...customApiStep, ...overrides })), JSON.stringify(overrides).slice(0, 80)).toBe('BAD_USER_INPUT');
    }
    const [row] = await registry.database.sql`select count(*)::int as n from components`;
    expect(row!['n']).toBe(0);
  });

  it('reports missing dependencies instead of refusing, and resolves them once they arrive', async () => {
    await register(businessTransformer); // before the step it depends on
    expect((await graph('BusinessTransformer@2.3.0')).missingDependencies).toEqual([{ name: 'CustomAPIStep', range: '^1', availableVersions: [] }]);

    await register({ type: 'PLUGIN', name: 'http-client', version: '1.9.0' });
    await register(customApiStep);
    const step = await graph('CustomAPIStep@1.2.0');
    expect(step.missingDependencies).toEqual([
      { name: 'http-client', range: '^2.1', availableVersions: ['1.9.0'] },
      { name: 'retry-policy', range: '*', availableVersions: [] },
    ]);
    expect((await graph('BusinessTransformer@2.3.0')).resolvedDependencies.map((component) => component.id)).toEqual(['CustomAPIStep@1.2.0']);
  });

  it('resolves to the highest version in range; dependents follow the resolution', async () => {
    for (const version of ['2.1.0', '2.4.0', '3.0.0', '2.5.0-beta.1']) await register({ type: 'PLUGIN', name: 'http-client', version });
    await register({ type: 'PLUGIN', name: 'retry-policy', version: '1.0.0' });
    await register(customApiStep);

    const step = await graph('CustomAPIStep@1.2.0');
    expect(step.resolvedDependencies.map((component) => component.id)).toEqual(['http-client@2.4.0', 'retry-policy@1.0.0']);
    expect(step.missingDependencies).toEqual([]);
    expect((await graph('http-client@2.4.0')).dependents.map((component) => component.id)).toEqual(['CustomAPIStep@1.2.0']);
    expect((await graph('http-client@2.1.0')).dependents).toEqual([]);
    expect((await graph('http-client@3.0.0')).dependents).toEqual([]);
  });

  it('orders a DAG dependencies-first', async () => {
    // flow -> transformer -> step -> {http-client, retry-policy}; flow -> validator -> http-client
    await register({ type: 'PLUGIN', name: 'http-client', version: '2.2.0' });
    await register({ type: 'PLUGIN', name: 'retry-policy', version: '1.0.0' });
    await register(customApiStep);
    await register(businessTransformer);
    await register({ type: 'VALIDATOR', name: 'OrderValidator', version: '1.0.0', dependencies: ['http-client@2'] });
    await register({ type: 'FLOW', name: 'OrderFlow', version: '1.0.0', dependencies: ['BusinessTransformer@^2', 'OrderValidator'] });

    const { dependencyOrder } = await registry.client.request(DependencyOrderDocument, { ids: ['OrderFlow@1.0.0'] });
    const order = dependencyOrder.map((component) => component.name);
    expect(order).toHaveLength(6);
    expect(order.at(-1)).toBe('OrderFlow');
    const before = (a: string, b: string) => expect(order.indexOf(a), `${a} before ${b}`).toBeLessThan(order.indexOf(b));
    before('http-client', 'CustomAPIStep');
    before('retry-policy', 'CustomAPIStep');
    before('CustomAPIStep', 'BusinessTransformer');
    before('http-client', 'OrderValidator');
    before('BusinessTransformer', 'OrderFlow');
    before('OrderValidator', 'OrderFlow');
  });

  it('names the cycle when there is one, and the dependency when one is missing', async () => {
    await register({ type: 'MIDDLEWARE', name: 'auth', version: '1.0.0', dependencies: ['session'] });
    await register({ type: 'MIDDLEWARE', name: 'session', version: '1.0.0', dependencies: ['audit'] });
    await register({ type: 'MIDDLEWARE', name: 'audit', version: '1.0.0', dependencies: ['auth@^1'] });
    await register({ type: 'FLOW', name: 'login', version: '1.0.0', dependencies: ['auth', 'unknown-thing@^3'] });

    const cycle = registry.client.request(DependencyOrderDocument, { ids: ['auth@1.0.0'] });
    await expect(cycle).rejects.toThrow('Dependency cycle: auth@1.0.0 -> session@1.0.0 -> audit@1.0.0 -> auth@1.0.0.');
    expect(await errorCode(registry.client.request(DependencyOrderDocument, { ids: ['auth@1.0.0'] }))).toBe('CONFLICT');
    await expect(registry.client.request(DependencyOrderDocument, { ids: ['login@1.0.0'] })).rejects.toThrow(/unknown-thing@\^3 is not registered/);
    expect(await errorCode(registry.client.request(DependencyOrderDocument, { ids: ['ghost@1.0.0'] }))).toBe('NOT_FOUND');
  });

  it('upserts by id, and unregisters with NOT_FOUND for unknown ids', async () => {
    await register({ ...customApiStep, id: 'step-main' });
    const updated = await register({ ...customApiStep, id: 'step-main', description: 'v2 description' });
    expect(updated.description).toBe('v2 description');
    expect((await registry.client.request(UnregisterComponentDocument, { id: 'step-main' })).unregisterComponent).toBe(true);
    expect(await errorCode(registry.client.request(UnregisterComponentDocument, { id: 'step-main' }))).toBe('NOT_FOUND');
  });
});

describe('graph reads are batched', () => {
  it('the number of queries does not grow with the number of components or edges', async () => {
    const queries: string[] = [];
    const database = connectDatabase(registry.database.url, { onQuery: (query) => queries.push(query) });
    const feed = tracked('feed', 'EventFeed', new EventFeed(database.db, database.sql, createLogger('silent')), 'close');
    const settings = registrySettingsFrom(loadSettings({}));
    const config = loadSettings({});
    const catalog = new Catalog(database.db, feed, createLogger('silent'));
    await catalog.start();
    const yoga = createGraphQLHandler(
      {
        db: database.db,
        feed,
        settings,
        selection: new SelectionState(),
        outcomes: new OutcomeReporter(database.db, settings.breaker),
        registrations: new RegistrationWriter(database.db, settings.health.policy),
        configWriter: new ConfigWriter(database.db, settings.config),
        heartbeats: new HeartbeatWriter(database.db),
        catalog,
        counters: newExecutionCounters(),
      },
      new Authenticator(database.db, undefined),
      config.limits,
      createLogger('silent'),
    );
    // postgres.js runs a new parameterised statement twice (describe, then execute),
    // so each shape of query is run once, uncounted, before it is counted.
    const count = async (): Promise<{ components: number; queries: number }> => {
      await run();
      return run();
    };
    const run = async () => {
      queries.length = 0;
      const response = await yoga.fetch(
        'http://switchboard.test/graphql',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: 'query { components { id resolvedDependencies { id } missingDependencies { name } dependents { id } } }' }),
        },
        { principal: OPEN_PRINCIPAL },
      );
      const body = (await response.json()) as { errors?: unknown; data: { components: unknown[] } };
      expect(body.errors).toBeUndefined();
      return { components: body.data.components.length, queries: queries.length };
    };

    try {
      // A chain: c0 <- c1 <- c2 ... each depending on the previous one and on a shared base.
      await register({ type: 'PLUGIN', name: 'base', version: '1.0.0' });
      for (let i = 0; i < 5; i++) await register({ type: 'STEP', name: `c${i}`, version: '1.0.0', dependencies: i ? [`c${i - 1}`, 'base'] : ['base'] });
      const small = await count();
      for (let i = 5; i < 40; i++) await register({ type: 'STEP', name: `c${i}`, version: '1.0.0', dependencies: [`c${i - 1}`, 'base', 'missing-x'] });
      const large = await count();

      expect(large.components).toBe(41);
      expect(large.queries).toBe(small.queries);
      expect(large.queries).toBeLessThanOrEqual(4);
    } finally {
      catalog.stop();
      await feed.close();
      await database.close();
    }
  });
});
