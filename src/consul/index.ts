/** The Consul-compatible HTTP API (/v1/), over the domain in src/registry. */
import { ConsulApi, type ConsulDeps } from './api.js';
import { catalogTopics } from './indexes.js';
import { agentRoutes } from './routes/agent.js';
import { catalogRoutes } from './routes/catalog.js';
import { healthRoutes } from './routes/health.js';
import { configTopics, kvRoutes } from './routes/kv.js';
import { prometheusRoutes } from './routes/prometheus.js';
import { statusRoutes } from './routes/status.js';
import { unsupportedRoutes } from './routes/unsupported.js';

export { ConsulApi, CONSUL_PATH_PREFIX, type ConsulDeps } from './api.js';

export function createConsulApi(deps: ConsulDeps): ConsulApi {
  // Unsupported endpoints last: a catch-all there must not shadow a route that works.
  return new ConsulApi(
    deps,
    [agentRoutes, catalogRoutes, healthRoutes, statusRoutes, kvRoutes, prometheusRoutes, unsupportedRoutes],
    [catalogTopics(), configTopics()],
  );
}
