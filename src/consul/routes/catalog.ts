import type { RouteModule } from '../api.js';

/** /v1/catalog: what is registered, from this server's in-memory catalog. */
export const catalogRoutes: RouteModule = ({ catalog, indexes, datacenter }) => [
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
  { method: 'GET', pattern: '/v1/catalog/datacenters', scope: 'READ', handle: () => ({ body: [datacenter] }) },
];
