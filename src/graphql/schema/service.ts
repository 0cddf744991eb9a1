import { notFound, type EndpointParameterRecord, type EndpointResponseRecord } from '@switchboard/contracts';
import { discover, discoverByTag, instancesByIds, summarize } from '../../registry/catalog/index.js';
import { effectiveStatus } from '../../registry/health/index.js';
import {
  heartbeat,
  instanceHealth,
  unregisterService,
  watchServiceChanges,
  type Endpoint,
  type ServiceChange,
  type ServiceInstance,
  type ServiceSummary,
} from '../../registry/services/index.js';
import type { GraphQLContext } from '../context.js';
import { authorizeChecks, authorizeServiceName } from '../authorize.js';
import { builder } from '../builder.js';
import { HealthCheckInput, HealthStatusTypeEnum, toCheckInput } from './health-inputs.js';

// --- Health ---------------------------------------------------------------------------

/**
 * The instance with its current lease and checks read from the table: the detail
 * fields change on every heartbeat and check run, which the catalog does not follow.
 */
async function healthDetails(instance: ServiceInstance, context: GraphQLContext) {
  const [lease, checks] = await Promise.all([context.loaders.leasesById.load(instance.id), context.loaders.checksByService.load(instance.id)]);
  return instanceHealth({ ...instance, ...lease }, checks);
}

/** Health of an instance; its status is the catalog's (what discovery and selection act on). */
const HealthStatusRef = builder.objectRef<ServiceInstance>('HealthStatus').implement({
  fields: (t) => ({
    status: t.field({
      type: HealthStatusTypeEnum,
      description: 'PASSING when every check passes and the instance is not in maintenance (a lapsed TTL lease counts once the expiry sweep acts).',
      resolve: (instance) => effectiveStatus(instance),
    }),
    output: t.string({ description: 'Why the status is what it is, for humans.', resolve: async (instance, _args, context) => (await healthDetails(instance, context)).output }),
    lastCheck: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the instance last proved it is alive.',
      resolve: async (instance, _args, context) => (await healthDetails(instance, context)).lastCheck,
    }),
    checkCount: t.int({ description: "Runs of the instance's checks so far.", resolve: async (instance, _args, context) => (await healthDetails(instance, context)).checkCount }),
    failureCount: t.int({ description: 'Runs that did not pass.', resolve: async (instance, _args, context) => (await healthDetails(instance, context)).failureCount }),
  }),
});

// --- Endpoints ------------------------------------------------------------------------

const ParameterLocationEnum = builder.enumType('ParameterLocation', {
  values: {
    PATH: { value: 'path' },
    QUERY: { value: 'query' },
    HEADER: { value: 'header' },
    COOKIE: { value: 'cookie' },
    BODY: { value: 'body' },
  } as const,
});

const EndpointParameterRef = builder.objectRef<EndpointParameterRecord>('EndpointParameter').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    in: t.expose('in', { type: ParameterLocationEnum }),
    type: t.exposeString('type'),
    required: t.exposeBoolean('required'),
    description: t.exposeString('description', { nullable: true }),
  }),
});

const EndpointResponseRef = builder.objectRef<EndpointResponseRecord>('EndpointResponse').implement({
  fields: (t) => ({
    status: t.exposeInt('status'),
    description: t.exposeString('description', { nullable: true }),
    schema: t.expose('schema', { type: 'JSON', nullable: true }),
  }),
});

const EndpointRef = builder.objectRef<Endpoint>('Endpoint').implement({
  fields: (t) => ({
    path: t.exposeString('path'),
    method: t.exposeString('method'),
    description: t.exposeString('description', { nullable: true }),
    parameters: t.expose('parameters', { type: [EndpointParameterRef] }),
    responses: t.expose('responses', { type: [EndpointResponseRef] }),
  }),
});

// --- Instances ------------------------------------------------------------------------

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
    address: t.exposeString('address', { description: 'Host name or IP address; defaults to the registering caller\'s address as the server saw it.' }),
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

// --- Registration -----------------------------------------------------------------------

const EndpointParameterInput = builder.inputType('EndpointParameterInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    in: t.field({ type: ParameterLocationEnum, required: true }),
    type: t.string({ description: 'Defaults to "string".' }),
    required: t.boolean({ description: 'Defaults to false.' }),
    description: t.string(),
  }),
});

const EndpointResponseInput = builder.inputType('EndpointResponseInput', {
  fields: (t) => ({
    status: t.int({ required: true }),
    description: t.string(),
    schema: t.field({ type: 'JSON' }),
  }),
});

const EndpointInput = builder.inputType('EndpointInput', {
  fields: (t) => ({
    path: t.string({ required: true }),
    method: t.string({ required: true }),
    description: t.string(),
    parameters: t.field({ type: [EndpointParameterInput] }),
    responses: t.field({ type: [EndpointResponseInput] }),
  }),
});

const ServiceDefinitionInput = builder.inputType('ServiceDefinitionInput', {
  fields: (t) => ({
    id: t.id({ description: 'Stable instance id; registering it again updates the instance. Defaults to the name.' }),
    name: t.string({ required: true }),
    version: t.string({ description: 'Semantic version, e.g. "1.4.2". Optional: an instance without one matches no version range.' }),
    address: t.string({
      description:
        "Host name or IP address. Defaults to the caller's address as this server's socket sees it (behind a proxy: the proxy's; X-Forwarded-For is not trusted).",
    }),
    port: t.int({ description: 'Optional: an instance without a port is still discovered and selected; its caller decides the port.' }),
    tags: t.stringList(),
    metadata: t.field({ type: 'JSON', description: 'String-to-string map, at most 64 pairs.' }),
    endpoints: t.field({ type: [EndpointInput] }),
    protocols: t.stringList(),
    weight: t.int({ description: 'Defaults to 1.' }),
    priority: t.int({ description: 'Defaults to 0; lower is preferred.' }),
    ttl: t.field({ type: 'Duration', description: 'Lease: without a heartbeat within it, the instance expires and is removed.' }),
    healthCheck: t.field({ type: HealthCheckInput, description: 'A health check to add (or update) with the instance.' }),
    healthChecks: t.field({ type: [HealthCheckInput], description: 'Several health checks to add (or update) with the instance.' }),
    replaceExistingChecks: t.boolean({
      description:
        "Remove the instance's checks that this registration does not define (as Consul's replace-existing-checks). Default false: checks registered before stay beside the new ones.",
    }),
  }),
});

builder.mutationFields((t) => ({
  registerService: t.field({
    type: ServiceInstanceRef,
    args: { input: t.arg({ type: ServiceDefinitionInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const healthChecks = [...(input.healthCheck ? [input.healthCheck] : []), ...(input.healthChecks ?? [])].map(toCheckInput);
      authorizeServiceName(context, input.name);
      authorizeChecks(context, healthChecks);
      return context.registrations.register({ ...input, ttlMs: input.ttl, healthChecks, callerAddress: context.callerAddress }, context.principal);
    },
  }),
  unregisterService: t.boolean({
    description: 'Removes an instance; NOT_FOUND when the id is unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await unregisterService(context.db, args.id, context.principal);
      return true;
    },
  }),
  heartbeat: t.field({
    type: ServiceInstanceRef,
    description: 'Renews the instance\'s TTL lease.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      return heartbeat(context.db, args.id, context.principal);
    },
  }),
}));

// --- Changes ----------------------------------------------------------------------------

const ServiceChangeKindEnum = builder.enumType('ServiceChangeKind', {
  values: ['REGISTERED', 'UPDATED', 'DEREGISTERED', 'EXPIRED', 'REAPED'] as const,
});

const ServiceChangeRef = builder.objectRef<ServiceChange>('ServiceChange').implement({
  fields: (t) => ({
    eventId: t.exposeID('eventId', { description: 'Pass as `after` to resume from here.' }),
    kind: t.expose('kind', { type: ServiceChangeKindEnum }),
    serviceId: t.exposeID('serviceId'),
    name: t.exposeString('name'),
    instance: t.expose('instance', { type: ServiceInstanceRef, description: 'The instance as of this change (its last state, for removals).' }),
    reason: t.exposeString('reason', { nullable: true }),
    timestamp: t.expose('timestamp', { type: 'DateTime' }),
  }),
});

builder.subscriptionFields((t) => ({
  serviceChanged: t.field({
    type: ServiceChangeRef,
    description: 'Registrations, updates and removals, for one service name or all. With `after`, first replays every change after that event id.',
    args: { name: t.arg.string(), after: t.arg.id() },
    subscribe: (_root, args, context) =>
      watchServiceChanges(context.db, context.feed, args),
    resolve: (change) => change,
  }),
}));
