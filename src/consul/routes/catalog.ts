import type { ServiceInstance } from '../../registry/services/index.js';
import type { RouteModule } from '../api.js';
import { ConsulError } from '../errors.js';
import { agentService, catalogService, consulNode, nodeOf } from '../model.js';
import type { ConsulRequest } from '../request.js';

/** /v1/catalog: what is registered, from this server's in-memory catalog (no query). */
export const catalogRoutes: RouteModule = (context) => {
  const { catalog, indexes, datacenter } = context;
  return [
    {
      method: 'GET',
      pattern: '/v1/catalog/services',
      scope: 'READ',
      index: () => indexes.of('services'),
      handle: () => {
        const services: Record<string, string[]> = {};
        for (const name of catalog.names()) {
          services[name] = [...new Set(catalog.byService(name).flatMap(({ instance }) => instance.tags))].sort();
        }
        return { body: services };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/service/:name',
      scope: 'READ',
      index: (request) => indexes.of(`service:${request.param('name')}`),
      handle: (request) => ({ body: withTags(catalog.byService(request.param('name')), request).map((instance) => catalogService(instance, context)) }),
    },
    { method: 'GET', pattern: '/v1/catalog/datacenters', scope: 'READ', handle: () => ({ body: [datacenter] }) },
    {
      method: 'GET',
      pattern: '/v1/catalog/nodes',
      scope: 'READ',
      index: () => indexes.of('services'),
      handle: () => {
        const nodes = new Set<string>();
        for (const { instance } of catalog.all()) nodes.add(nodeOf(instance));
        return { body: [...nodes].sort().map((node) => consulNode(node, context)) };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/catalog/node/:node',
      scope: 'READ',
      index: (request) => indexes.of(`node:${request.param('node')}`),
      handle: (request) => {
        const node = request.param('node');
        const services: Record<string, ReturnType<typeof agentService>> = {};
        for (const { instance } of catalog.all()) if (nodeOf(instance) === node) services[instance.id] = agentService(instance, context);
        // Consul answers an unknown node with null; a node here exists while it has instances.
        if (Object.keys(services).length === 0) return { body: null };
        return { body: { Node: consulNode(node, context), Services: services } };
      },
    },
  ];
};

const MAX_TAGS = 64;

/** The instances carrying every `?tag=` given (Consul: repeated tags must all match). */
export function withTags(entries: readonly { instance: ServiceInstance }[], request: ConsulRequest): ServiceInstance[] {
  const tags = request.all('tag');
  if (tags.length > MAX_TAGS) throw new ConsulError(400, `At most ${MAX_TAGS} ?tag= filters.`);
  return entries.map((entry) => entry.instance).filter((instance) => tags.every((tag) => instance.tags.includes(tag)));
}
