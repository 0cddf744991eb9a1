import {
  HEALTH_HISTORY_PAGE_DEFAULT,
  deregisterHealthCheck,
  getHealthChecksByIds,
  healthHistory,
  registerHealthCheck,
  setMaintenance,
  updateTtlCheck,
  watchHealthChanges,
  type HealthChange,
  type HealthCheck,
  type HealthTransition,
} from '../../registry/health/index.js';
import { authorizeChecks } from '../authorize.js';
import { builder } from '../builder.js';
import { HealthStatusTypeEnum, HealthCheckInput, toCheckInput } from './health-inputs.js';
import { ServiceInstanceRef } from './service.js';

const HealthCheckKindEnum = builder.enumType('HealthCheckKind', { values: ['HTTP', 'TCP', 'GRPC', 'SCRIPT', 'TTL'] as const });

export const HealthCheckRef = builder.loadableObjectRef('HealthCheck', {
  load: (ids: string[], context) => getHealthChecksByIds(context.db, ids),
  sort: (check) => check.id,
});

const target = <K extends HealthCheck['target']['kind']>(check: HealthCheck, kind: K) =>
  check.target.kind === kind ? (check.target as Extract<HealthCheck['target'], { kind: K }>) : undefined;

HealthCheckRef.implement({
  description: 'A health check of one instance, with its current state.',
  fields: (t) => ({
    id: t.exposeID('id'),
    serviceId: t.exposeID('serviceId'),
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: HealthCheckKindEnum }),
    http: t.string({ nullable: true, resolve: (check) => target(check, 'HTTP')?.url }),
    method: t.string({ nullable: true, resolve: (check) => target(check, 'HTTP')?.method }),
    headers: t.field({ type: 'JSON', nullable: true, resolve: (check) => target(check, 'HTTP')?.headers }),
    tlsSkipVerify: t.boolean({ nullable: true, resolve: (check) => target(check, 'HTTP')?.tlsSkipVerify }),
    tcp: t.string({ nullable: true, resolve: (check) => target(check, 'TCP')?.address }),
    grpc: t.string({
      nullable: true,
      resolve: (check) => {
        const grpc = target(check, 'GRPC');
        return grpc && (grpc.service ? `${grpc.address}/${grpc.service}` : grpc.address);
      },
    }),
    grpcUseTls: t.boolean({ nullable: true, resolve: (check) => target(check, 'GRPC')?.useTls }),
    script: t.string({ nullable: true, resolve: (check) => target(check, 'SCRIPT')?.command }),
    args: t.stringList({ nullable: true, resolve: (check) => target(check, 'SCRIPT')?.args }),
    ttl: t.expose('ttlMs', { type: 'Duration', nullable: true }),
    interval: t.field({ type: 'Duration', nullable: true, resolve: (check) => (check.kind === 'TTL' ? null : check.intervalMs) }),
    timeout: t.expose('timeoutMs', { type: 'Duration' }),
    successBeforePassing: t.exposeInt('successBeforePassing'),
    failuresBeforeCritical: t.exposeInt('failuresBeforeCritical'),
    deregisterCriticalServiceAfter: t.expose('deregisterCriticalAfterMs', { type: 'Duration', nullable: true }),
    status: t.expose('status', { type: HealthStatusTypeEnum }),
    output: t.exposeString('output'),
    lastCheck: t.expose('lastCheckAt', { type: 'DateTime', nullable: true }),
    checkCount: t.exposeInt('checkCount', { description: 'Runs so far.' }),
    failureCount: t.exposeInt('failureCount', { description: 'Runs that did not pass.' }),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    statusChangedAt: t.expose('statusChangedAt', { type: 'DateTime' }),
    nextRunAt: t.expose('nextRunAt', { type: 'DateTime', description: 'For a TTL check: when it lapses without an update.' }),
  }),
});

const MaintenanceRef = builder.objectRef<{ reason: string | null; since: Date }>('Maintenance').implement({
  fields: (t) => ({
    reason: t.exposeString('reason', { nullable: true }),
    since: t.expose('since', { type: 'DateTime' }),
  }),
});

builder.objectFields(ServiceInstanceRef, (t) => ({
  checks: t.field({
    type: [HealthCheckRef],
    resolve: (instance, _args, context) => context.loaders.checksByService.load(instance.id),
  }),
  maintenance: t.field({
    type: MaintenanceRef,
    nullable: true,
    description: 'Set while the instance is in maintenance (out of passing discovery).',
    resolve: (instance) => (instance.maintenanceSince ? { reason: instance.maintenanceReason, since: instance.maintenanceSince } : null),
  }),
}));

const HealthTransitionRef = builder.objectRef<HealthTransition>('HealthTransition').implement({
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    checkId: t.exposeID('checkId', { nullable: true, description: 'Null for a maintenance switch.' }),
    checkName: t.exposeString('checkName', { nullable: true }),
    from: t.expose('fromStatus', { type: HealthStatusTypeEnum, nullable: true, description: 'Null when the check was added.' }),
    to: t.expose('toStatus', { type: HealthStatusTypeEnum, nullable: true, description: 'Null when the check was removed.' }),
    output: t.exposeString('output'),
    instanceStatus: t.expose('instanceStatus', { type: HealthStatusTypeEnum, description: 'The instance as discovery saw it afterwards.' }),
  }),
});

const HealthChangeRef = builder.objectRef<HealthChange>('HealthChange').implement({
  fields: (t) => ({
    eventId: t.exposeID('eventId', { description: 'Pass as `after` to resume from here.' }),
    serviceId: t.exposeID('id'),
    name: t.exposeString('name'),
    checkId: t.exposeID('checkId', { nullable: true }),
    checkName: t.exposeString('checkName', { nullable: true }),
    previousStatus: t.expose('from', { type: HealthStatusTypeEnum, nullable: true }),
    status: t.expose('to', { type: HealthStatusTypeEnum, nullable: true }),
    output: t.exposeString('output'),
    previousInstanceStatus: t.expose('instanceFrom', { type: HealthStatusTypeEnum }),
    instanceStatus: t.expose('instanceTo', { type: HealthStatusTypeEnum }),
    timestamp: t.expose('timestamp', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  healthCheck: t.field({
    type: HealthCheckRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args) => args.id,
  }),
  healthHistory: t.field({
    type: [HealthTransitionRef],
    description: 'Recent health transitions of an instance, newest first (the last 100 are kept).',
    args: { id: t.arg.id({ required: true }), last: t.arg.int({ description: '1 to 1000.', defaultValue: HEALTH_HISTORY_PAGE_DEFAULT }) },
    resolve: (_root, args, context) => healthHistory(context.db, args.id, args.last ?? undefined),
  }),
}));

builder.mutationFields((t) => ({
  registerHealthCheck: t.field({
    type: HealthCheckRef,
    description: 'Adds a check to an instance, or updates it (by id). A new check starts CRITICAL until it passes.',
    args: { serviceId: t.arg.id({ required: true }), check: t.arg({ type: HealthCheckInput, required: true }) },
    resolve: async (_root, args, context) => {
      const check = toCheckInput(args.check);
      authorizeChecks(context, [check]);
      return registerHealthCheck(context.db, args.serviceId, check, context.settings.health.policy, context.principal);
    },
  }),
  deregisterHealthCheck: t.boolean({
    description: 'Removes a check; NOT_FOUND when the id is unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await deregisterHealthCheck(context.db, args.id, context.principal);
      return true;
    },
  }),
  updateTtlCheck: t.field({
    type: HealthCheckRef,
    description: "Reports a TTL check's status (how a service reports its own health); valid for the check's TTL.",
    args: { checkId: t.arg.id({ required: true }), status: t.arg({ type: HealthStatusTypeEnum, required: true }), output: t.arg.string() },
    resolve: async (_root, args, context) => {
      return updateTtlCheck(context.db, args.checkId, { status: args.status, output: args.output }, context.principal);
    },
  }),
  setMaintenance: t.field({
    type: ServiceInstanceRef,
    description: 'Takes an instance out of passing discovery (or puts it back) without deregistering it.',
    args: { id: t.arg.id({ required: true }), enabled: t.arg.boolean({ required: true }), reason: t.arg.string() },
    resolve: async (_root, args, context) => {
      return setMaintenance(context.db, args.id, args, context.principal);
    },
  }),
}));

builder.subscriptionFields((t) => ({
  healthChanged: t.field({
    type: HealthChangeRef,
    description: 'Health transitions (not every check run) of one service\'s instances, or all. With `after`, replays first.',
    args: { name: t.arg.string(), after: t.arg.id() },
    subscribe: (_root, args, context) => watchHealthChanges(context.db, context.feed, args),
    resolve: (change) => change,
  }),
}));
