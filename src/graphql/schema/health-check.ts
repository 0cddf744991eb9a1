import { deregisterHealthCheck, getHealthChecksByIds, registerHealthCheck, updateTtlCheck, type HealthCheck } from '../../registry/health/index.js';
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

builder.objectField(ServiceInstanceRef, 'checks', (t) =>
  t.field({
    type: [HealthCheckRef],
    resolve: (instance, _args, context) => context.loaders.checksByService.load(instance.id),
  }),
);

builder.queryFields((t) => ({
  healthCheck: t.field({
    type: HealthCheckRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args) => args.id,
  }),
}));

builder.mutationFields((t) => ({
  registerHealthCheck: t.field({
    type: HealthCheckRef,
    description: 'Adds a check to an instance, or updates it (by id). A new check starts CRITICAL until it passes.',
    args: { serviceId: t.arg.id({ required: true }), check: t.arg({ type: HealthCheckInput, required: true }) },
    resolve: async (_root, args, context) => {
      return registerHealthCheck(context.db, args.serviceId, toCheckInput(args.check), context.settings.health.policy, context.principal);
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
}));
