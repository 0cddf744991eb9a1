import { effectiveStatus } from '../../registry/health/index.js';
import { instanceHealth, type ServiceInstance } from '../../registry/services/index.js';
import type { GraphQLContext } from '../context.js';
import { builder } from '../builder.js';
import { HealthStatusTypeEnum } from './health-inputs.js';

/**
 * The instance with its current lease and checks read from the table: the detail
 * fields change on every heartbeat and check run, which the catalog does not follow.
 */
async function healthDetails(instance: ServiceInstance, context: GraphQLContext) {
  const [lease, checks] = await Promise.all([context.loaders.leasesById.load(instance.id), context.loaders.checksByService.load(instance.id)]);
  return instanceHealth({ ...instance, ...lease }, checks);
}

/** Health of an instance; its status is the catalog's (what discovery and selection act on). */
export const HealthStatusRef = builder.objectRef<ServiceInstance>('HealthStatus').implement({
  fields: (t) => ({
    status: t.field({
      type: HealthStatusTypeEnum,
      description: 'PASSING when every check passes and the instance is not in maintenance (a lapsed TTL lease counts once the expiry sweep acts).',
      resolve: (instance) => effectiveStatus(instance),
    }),
    output: t.string({
      description: 'Why the status is what it is, for humans.',
      resolve: async (instance, _args, context) => (await healthDetails(instance, context)).output,
    }),
    lastCheck: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the instance last proved it is alive.',
      resolve: async (instance, _args, context) => (await healthDetails(instance, context)).lastCheck,
    }),
    checkCount: t.int({
      description: "Runs of the instance's checks so far.",
      resolve: async (instance, _args, context) => (await healthDetails(instance, context)).checkCount,
    }),
    failureCount: t.int({
      description: 'Runs that did not pass.',
      resolve: async (instance, _args, context) => (await healthDetails(instance, context)).failureCount,
    }),
  }),
});
