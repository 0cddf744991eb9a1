import { notFound } from '@switchboard/contracts';
import { discover, discoverByTag, instancesByIds, summarize } from '../../registry/catalog/index.js';
import type { ServiceSummary } from '../../registry/services/index.js';
import { builder } from '../builder.js';
import { EndpointRef } from './endpoint.js';
import { HealthStatusRef } from './health-status.js';

export const ServiceInstanceRef = builder.loadableObject('ServiceInstance', {
  description: 'One running instance of a service, as registered.',
  // From the in-memory catalog: no query.
  load: async (ids: string[], context) => instancesByIds(context.catalog, ids),
  sort: (instance) => instance.id,
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    version: t.exposeString('version', {
      nullable: true,
      description: 'Semantic version, normalised (a leading "v" is dropped). Null: registered without one; matches no version range.',
    }),
    address: t.exposeString('address', { description: "Host name or IP address; defaults to the registering caller's address as the server saw it." }),
    port: t.exposeInt('port', { nullable: true, description: 'Null: registered without one; the caller decides which port to use.' }),
    tags: t.exposeStringList('tags'),
    metadata: t.expose('metadata', { type: 'JSON', description: 'String-to-string map.' }),
    endpoints: t.expose('endpoints', { type: [EndpointRef] }),
    protocols: t.exposeStringList('protocols'),
    weight: t.exposeInt('weight'),
    priority: t.exposeInt('priority', { description: 'Lower is preferred.' }),
    ttl: t.expose('ttlMs', { type: 'Duration', nullable: true, description: 'Lease length; without a heartbeat the instance expires.' }),
    registeredAt: t.expose('registeredAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    // Leases change on every heartbeat, which the catalog does not follow: read from the table (batched).
    lastHeartbeatAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: async (instance, _args, context) => ((await context.loaders.leasesById.load(instance.id)) ?? instance).lastHeartbeatAt,
    }),
    expiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: async (instance, _args, context) => ((await context.loaders.leasesById.load(instance.id)) ?? instance).expiresAt,
    }),
    health: t.field({ type: HealthStatusRef, resolve: (instance) => instance }),
    source: t.exposeString('source', {
      nullable: true,
      description:
        'The external registry this instance is followed from (a name in SWITCHBOARD_SOURCES): read-only here, every write to it is refused FORBIDDEN; it changes in that registry. Null: registered here.',
    }),
  }),
});

const ServiceSummaryRef = builder.objectRef<ServiceSummary>('ServiceSummary').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    instances: t.exposeInt('instances'),
    passing: t.exposeInt('passing'),
    versions: t.exposeStringList('versions', { description: 'Distinct versions, newest first.' }),
    tags: t.exposeStringList('tags'),
  }),
});

builder.queryFields((t) => ({
  service: t.field({
    type: ServiceInstanceRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args) => args.id,
  }),
  discoverServices: t.field({
    type: [ServiceInstanceRef],
    description: 'Instances of one service, optionally only passing ones, with all of `tags`, and a version in the semver range `version`.',
    args: {
      name: t.arg.string({ required: true }),
      passingOnly: t.arg.boolean({ defaultValue: false }),
      tags: t.arg.stringList(),
      version: t.arg.string({ description: 'A semver range, npm syntax: "^2.1", ">=1.4 <2", "1.x".' }),
    },
    resolve: (_root, args, context) => discover(context.catalog, args),
  }),
  discoverServicesByTag: t.field({
    type: [ServiceInstanceRef],
    args: { tag: t.arg.string({ required: true }), passingOnly: t.arg.boolean({ defaultValue: false }) },
    resolve: (_root, args, context) => discoverByTag(context.catalog, args.tag, args.passingOnly ?? false),
  }),
  serviceHealth: t.field({
    type: HealthStatusRef,
    description: 'Health of one instance; NOT_FOUND when the id is unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => {
      const entry = context.catalog.get(args.id);
      if (!entry) throw notFound('Service instance', args.id);
      return entry.instance;
    },
  }),
  services: t.field({
    type: [ServiceSummaryRef],
    description: 'Every service name in the catalog with its instance counts.',
    args: { prefix: t.arg.string() },
    resolve: (_root, args, context) => summarize(context.catalog, args.prefix),
  }),
}));
