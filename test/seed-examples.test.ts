import { createClient } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SwitchboardError } from '@switchboard/contracts';
import {
  ComponentGraphDocument,
  ComponentsDocument,
  DependencyOrderDocument,
  DiscoverServicesDocument,
  EventsDocument,
  LatestEventIdDocument,
  OnEventsDocument,
  RegisterComponentDocument,
  RegisterServiceDocument,
  SelectInstanceDocument,
  SelectInstanceExplainedDocument,
  ServicesDocument,
  SetMaintenanceDocument,
  UnregisterComponentDocument,
  UnregisterServiceDocument,
  type ComponentInput,
  type ServiceDefinitionInput,
} from '@switchboard/client';
import { parseServiceDefinition } from '../src/registry/services/definition.js';
import { take } from './support/client.js';
import { startTestNode, useRegistryNode } from './support/nodes.js';

/**
 * The examples of the seed document (a Go `pkg/registry`), translated to GraphQL and
 * run as written: the minimal self-test registration, components under display names,
 * and event handlers that read `event.Data["service_id"]`.
 */
const registry = useRegistryNode();

const register = (input: ServiceDefinitionInput) => registry.client.request(RegisterServiceDocument, { input }).then((result) => result.registerService);
const unregister = (id: string) => registry.client.request(UnregisterServiceDocument, { id }).then((result) => result.unregisterService);
const registerComponent = (input: ComponentInput) => registry.client.request(RegisterComponentDocument, { input }).then((result) => result.registerComponent);
const graph = (id: string) => registry.client.request(ComponentGraphDocument, { id }).then((result) => result.component!);

async function clean() {
  for (const { id } of await registry.database.sql<{ id: string }[]>`select id from services`) await unregister(id);
  for (const { id } of await registry.database.sql<{ id: string }[]>`select id from components`) {
    await registry.client.request(UnregisterComponentDocument, { id });
  }
}

describe("the seed's registry self-test: RegisterService(&ServiceDefinition{ID, Name})", () => {
  it("registers {id, name} alone: the address is the caller's, no version, no port; UnregisterService removes it", async () => {
    // testService := &registry.ServiceDefinition{ID: "health-check-test", Name: "health-check"}
    const registered = await register({ id: 'health-check-test', name: 'health-check' });
    expect(registered).toMatchObject({ id: 'health-check-test', name: 'health-check', version: null, port: null, address: '127.0.0.1' });
    // registry.UnregisterService(testService.ID)
    expect(await unregister('health-check-test')).toBe(true);
    expect((await registry.database.sql`select id from services`).length).toBe(0);
  });

  it('the id defaults to the name, and registering again updates that one instance', async () => {
    const first = await register({ name: 'health-check' });
    const again = await register({ name: 'health-check', port: 9000 });
    expect(first.id).toBe('health-check');
    expect(again).toMatchObject({ id: 'health-check', port: 9000 });
    expect(await registry.database.sql`select id, port from services`).toEqual([{ id: 'health-check', port: 9000 }]);
    await clean();
  });

  it("over WebSocket the address is the caller's too", async () => {
    const ws = createClient({ url: registry.node.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const results = ws.iterate<{ registerService: { id: string; address: string } }>({
        query: 'mutation { registerService(input: { name: "ws-self-test" }) { id address } }',
      });
      const { value } = await results.next();
      await results.return?.();
      expect(value).toEqual({ data: { registerService: { id: 'ws-self-test', address: '127.0.0.1' } } });
    } finally {
      await ws.dispose();
      await clean();
    }
  });

  it('an IPv4 caller of a dual-stack listener is stored as IPv4, not "::ffff:127.0.0.1"', async () => {
    // Listening on "::", the socket reports an IPv4 peer as an IPv4-mapped IPv6 address.
    const node = await startTestNode(registry.database.url, { HOST: '::', SWITCHBOARD_ADMIN_TOKEN: 'seed-examples-token' });
    try {
      const url = `http://127.0.0.1:${node.port}/graphql`;
      const client = registry.clients.create(url, 'seed-examples-token');
      const { registerService } = await client.request(RegisterServiceDocument, { input: { name: 'dual-stack' } });
      expect(registerService.address).toBe('127.0.0.1');
      // The same normalisation for an address given explicitly.
      const explicit = await client.request(RegisterServiceDocument, { input: { id: 'mapped', name: 'dual-stack', address: '::ffff:10.0.0.7' } });
      expect(explicit.registerService.address).toBe('10.0.0.7');
    } finally {
      await node.stop();
      await clean();
    }
  });

  it('with no address and no socket to take one from (an in-process call), it is BAD_USER_INPUT naming the field', () => {
    let refused: unknown;
    try {
      parseServiceDefinition({ name: 'no-socket' });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(SwitchboardError);
    expect(refused).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('address is required') });
  });

  it("an address given explicitly wins over the caller's", async () => {
    expect((await register({ name: 'explicit', address: '192.168.1.100' })).address).toBe('192.168.1.100');
    await clean();
  });
});

describe('an instance registered without a version or a port', () => {
  it('is discovered; a version range (even "*") does not match it', async () => {
    await register({ id: 'bare', name: 'mixed' });
    await register({ id: 'full', name: 'mixed', version: '1.0.0', port: 8080 });

    const all = await registry.client.request(DiscoverServicesDocument, { name: 'mixed' });
    expect(all.discoverServices.map((instance) => [instance.id, instance.version, instance.port]).sort()).toEqual([
      ['bare', null, null],
      ['full', '1.0.0', 8080],
    ]);
    const ranged = await registry.client.request(DiscoverServicesDocument, { name: 'mixed', version: '*' });
    expect(ranged.discoverServices.map((instance) => instance.id)).toEqual(['full']);
    const { services } = await registry.client.request(ServicesDocument, { prefix: 'mixed' });
    expect(services).toEqual([{ name: 'mixed', instances: 2, passing: 2, versions: ['1.0.0'], tags: [] }]);
    await clean();
  });

  it('is selected by every strategy (its caller decides the port); with a version range it is excluded as VERSION_MISMATCH', async () => {
    await register({ id: 'portless-1', name: 'portless' });
    for (const strategy of ['ROUND_ROBIN', 'WEIGHTED', 'RANDOM', 'PRIORITY', 'CONSISTENT_HASH'] as const) {
      const { selectInstance } = await registry.client.request(SelectInstanceDocument, { service: 'portless', strategy, hashKey: 'user-42' });
      expect(selectInstance?.id, strategy).toBe('portless-1');
    }
    const { selectInstanceExplained } = await registry.client.request(SelectInstanceExplainedDocument, { service: 'portless', version: '*' });
    expect(selectInstanceExplained.selected).toBeNull();
    expect(selectInstanceExplained.candidates).toMatchObject([{ instance: { id: 'portless-1' }, eligible: false, exclusions: ['VERSION_MISMATCH'] }]);
    await clean();
  });
});

/** The seed's components, as it writes them: ids, display names, dependencies by id or name. */
const customApiStep: ComponentInput = {
  id: 'custom-api-step-v1',
  type: 'STEP',
  name: 'Custom API Step',
  version: '1.0.0',
  description: 'Custom step for API integration',
  dependencies: ['http-client'],
  metadata: { api_url: 'https://api.example.com', timeout: '30s' },
};
const businessTransformer: ComponentInput = {
  id: 'business-transformer-v2',
  type: 'TRANSFORMER',
  name: 'Business Logic Transformer',
  version: '2.1.0',
  description: 'Applies business logic transformations',
  dependencies: ['base-transformer'],
  metadata: { rules: { discount: 0.1 }, type: 'business-logic' },
};
const userRegistrationFlow: ComponentInput = {
  id: 'user-registration-flow-v1',
  type: 'FLOW',
  name: 'User Registration Flow',
  version: '1.0.0',
  description: 'Complete user registration workflow',
  dependencies: ['custom-api-step-v1', 'business-transformer-v2@^2'],
};

describe('components named as the seed names them', () => {
  it('registers "Custom API Step", "Business Logic Transformer" and "User Registration Flow"; ListComponents finds the step by Name()', async () => {
    for (const component of [customApiStep, businessTransformer, userRegistrationFlow]) {
      expect(await registerComponent(component)).toMatchObject({ id: component.id, name: component.name, version: component.version });
    }
    // steps := registry.ListComponents(ComponentTypeStep); step.Name() == "Custom API Step"
    const { components: steps } = await registry.client.request(ComponentsDocument, { type: 'STEP' });
    expect(steps.find((step) => step.name === 'Custom API Step')?.id).toBe('custom-api-step-v1');
    await clean();
  });

  it('dependencies resolve by id or by name: missing until registered, then resolved, ordered, and seen from the other side', async () => {
    await registerComponent(userRegistrationFlow); // before what it depends on
    expect((await graph('user-registration-flow-v1')).missingDependencies).toEqual([
      { name: 'custom-api-step-v1', range: '*', availableVersions: [] },
      { name: 'business-transformer-v2', range: '^2', availableVersions: [] },
    ]);
    await registerComponent(customApiStep);
    await registerComponent(businessTransformer);
    expect((await graph('user-registration-flow-v1')).missingDependencies).toEqual([]);
    expect((await graph('business-transformer-v2')).missingDependencies).toEqual([{ name: 'base-transformer', range: '*', availableVersions: [] }]);

    // Package-like names keep today's default id, "name@version".
    expect((await registerComponent({ type: 'PLUGIN', name: 'http-client', version: '1.4.0' })).id).toBe('http-client@1.4.0');
    await registerComponent({ type: 'TRANSFORMER', name: 'base-transformer', version: '1.0.0' });

    expect((await graph('custom-api-step-v1')).resolvedDependencies.map((component) => component.id)).toEqual(['http-client@1.4.0']); // by name
    expect((await graph('user-registration-flow-v1')).resolvedDependencies.map((component) => component.id)).toEqual([
      'custom-api-step-v1', // by id
      'business-transformer-v2', // by id, in range
    ]);
    expect((await graph('custom-api-step-v1')).dependents.map((component) => component.id)).toEqual(['user-registration-flow-v1']);

    const { dependencyOrder } = await registry.client.request(DependencyOrderDocument, { ids: ['user-registration-flow-v1'] });
    const order = dependencyOrder.map((component) => component.id);
    expect(order).toHaveLength(5);
    expect(order.at(-1)).toBe('user-registration-flow-v1');
    expect(order.indexOf('http-client@1.4.0')).toBeLessThan(order.indexOf('custom-api-step-v1'));
    expect(order.indexOf('base-transformer@1.0.0')).toBeLessThan(order.indexOf('business-transformer-v2'));
    await clean();
  });

  it('a display name without an id gets its slug as id; two components with one display name resolve to the smaller id, an id pins one', async () => {
    expect((await registerComponent({ type: 'STEP', name: 'Custom API Step', version: '1.0.0' })).id).toBe('custom-api-step-1.0.0');
    await registerComponent({ id: 'on-slug', type: 'FLOW', name: 'On Slug', version: '1.0.0', dependencies: ['custom-api-step-1.0.0@^1'] });
    expect((await graph('on-slug')).resolvedDependencies.map((component) => component.id)).toEqual(['custom-api-step-1.0.0']);
    await registerComponent({ id: 'b-shared', type: 'PLUGIN', name: 'shared-name', version: '1.0.0' });
    await registerComponent({ id: 'a-shared', type: 'PLUGIN', name: 'shared-name', version: '1.0.0' });
    await registerComponent({ id: 'by-name', type: 'STEP', name: 'By Name', version: '1.0.0', dependencies: ['shared-name'] });
    await registerComponent({ id: 'by-id', type: 'STEP', name: 'By Id', version: '1.0.0', dependencies: ['b-shared'] });
    expect((await graph('by-name')).resolvedDependencies.map((component) => component.id)).toEqual(['a-shared']);
    expect((await graph('by-id')).resolvedDependencies.map((component) => component.id)).toEqual(['b-shared']);
    await clean();
  });
});

describe("built-in events carry the seed's data keys", () => {
  /** The seed's handler: log.Info("New service registered", event.Data["service_id"], event.Data["service_name"]). */
  const handler = (event: { type: string; data: unknown }) => {
    const data = event.data as Record<string, unknown>;
    return { type: event.type, service_id: data['service_id'], service_name: data['service_name'], address: data['address'] };
  };

  it('a subscriber reads service_id, service_name and address ("host:port") from service.registered and service.unregistered', async () => {
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    const stream = registry.client.subscribe(OnEventsDocument, { types: ['service.registered', 'service.unregistered'], after: latestEventId });
    try {
      // The seed's registration example, field for field (its health check aside).
      await register({
        id: 'user-api-001',
        name: 'user-api',
        version: 'v1.2.3',
        address: '192.168.1.100',
        port: 8080,
        tags: ['api', 'user', 'production'],
        metadata: { environment: 'production', region: 'us-west-2', datacenter: 'dc1' },
        endpoints: [
          { path: '/api/users', method: 'GET', description: 'List users' },
          { path: '/api/users/{id}', method: 'GET', description: 'Get user by ID' },
        ],
        weight: 100,
        ttl: '5m',
      });
      await unregister('user-api-001');
      const events = (await take(stream, 2)).map((step) => step.events);
      expect(events.map(handler)).toEqual([
        { type: 'service.registered', service_id: 'user-api-001', service_name: 'user-api', address: '192.168.1.100:8080' },
        { type: 'service.unregistered', service_id: 'user-api-001', service_name: 'user-api', address: '192.168.1.100:8080' },
      ]);
      // Today's keys stay.
      expect(events[0]!.data).toMatchObject({ id: 'user-api-001', name: 'user-api', created: true });
    } finally {
      await stream.return!();
    }
  });

  it('service.health.changed carries service_id and service_name as well', async () => {
    await register({ id: 'health-check-test', name: 'health-check' });
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    await registry.client.request(SetMaintenanceDocument, { id: 'health-check-test', enabled: true, reason: 'seed example' });
    const { events } = await registry.client.request(EventsDocument, { types: ['service.health.changed'], after: latestEventId });
    expect(events.map(handler)).toEqual([
      { type: 'service.health.changed', service_id: 'health-check-test', service_name: 'health-check', address: undefined },
    ]);
    await clean();
  });

  it('without a port the address is the host alone; an IPv6 host is bracketed', async () => {
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    await register({ id: 'health-check-test', name: 'health-check' });
    await register({ id: 'v6', name: 'v6', address: '::1', port: 80 });
    const { events } = await registry.client.request(EventsDocument, { types: ['service.registered'], after: latestEventId });
    expect(events.map(handler).map((event) => event.address)).toEqual(['127.0.0.1', '[::1]:80']);
    await clean();
  });
});
