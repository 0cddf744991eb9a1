import { registryHealth, type DatabaseHealth, type RegistryHealth } from '../../registry/self/index.js';
import { builder } from '../builder.js';
import { ServiceInstanceRef } from './service.js';

const DatabaseHealthRef = builder.objectRef<DatabaseHealth>('DatabaseHealth').implement({
  fields: (t) => ({
    reachable: t.exposeBoolean('reachable', { description: 'Whether the database answered this server within 2s.' }),
    latency: t.expose('latencyMs', { type: 'Duration', nullable: true, description: 'One round trip from this server.' }),
    version: t.exposeString('version', { nullable: true, description: "PostgreSQL's server_version." }),
  }),
});

const RegistryHealthRef = builder.objectRef<RegistryHealth>('RegistryHealth').implement({
  description: "The registry's own processes, as they registered themselves (SWITCHBOARD_SELF_REGISTER), and its database.",
  fields: (t) => ({
    servers: t.field({ type: [ServiceInstanceRef], description: 'Instances of `switchboard` (serve processes).', resolve: (health) => [...health.servers] }),
    workers: t.field({ type: [ServiceInstanceRef], description: 'Instances of `switchboard-worker`.', resolve: (health) => [...health.workers] }),
    database: t.expose('database', { type: DatabaseHealthRef }),
  }),
});

builder.queryFields((t) => ({
  registryHealth: t.field({
    type: RegistryHealthRef,
    description: "The registry's servers, workers and database, as this server sees them.",
    resolve: (_root, _args, context) => registryHealth(context.db, context.catalog),
  }),
}));
