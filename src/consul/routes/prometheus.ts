import { effectiveStatus } from '../../registry/health/model.js';
import type { RouteModule } from '../api.js';
import { targetGroup } from '../prometheus-sd.js';

/**
 * /v1/sd/prometheus: Prometheus's HTTP service discovery (`http_sd_configs`), from this
 * server's in-memory catalog. `?service=` (repeatable: any of them), `?tag=` (repeatable:
 * all of them), `?passing` (only instances whose checks all pass, not in maintenance).
 */
export const prometheusRoutes: RouteModule = ({ catalog, indexes, datacenter }) => [
  {
    method: 'GET',
    pattern: '/v1/sd/prometheus',
    scope: 'READ',
    index: (request) => {
      const services = request.all('service');
      return services.length === 0 ? indexes.of('services') : indexes.of(...services.map((name) => `service:${name}`));
    },
    handle: (request) => {
      const services = request.all('service');
      const tags = request.all('tag');
      const passing = request.flag('passing');
      const names = services.length === 0 ? catalog.names() : [...new Set(services)].sort();
      const groups = names.flatMap((name) =>
        catalog
          .byService(name)
          .map(({ instance }) => instance)
          .filter((instance) => tags.every((tag) => instance.tags.includes(tag)) && (!passing || effectiveStatus(instance) === 'PASSING'))
          .map((instance) => targetGroup(instance, datacenter)),
      );
      return { body: groups };
    },
  },
];
