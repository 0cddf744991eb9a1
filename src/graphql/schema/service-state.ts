import {
  computeServiceStates,
  deleteServicePolicy,
  getServicePolicy,
  listServicePolicies,
  SERVICE_STATE_DEFINITIONS,
  setServicePolicy,
  watchServiceStates,
  type ServicePolicy,
  type ServiceStateCounts,
  type ServiceStateReport,
  type ServiceStatus,
} from '../../registry/states/index.js';
import { builder } from '../builder.js';

export const ServiceStateEnum = builder.enumType('ServiceState', {
  description: 'What a service name is doing, judged in the order DOWN, HEALING, SCALING, ACTIVE (the first that holds).',
  values: {
    ACTIVE: { description: SERVICE_STATE_DEFINITIONS.ACTIVE },
    SCALING: { description: SERVICE_STATE_DEFINITIONS.SCALING },
    HEALING: { description: SERVICE_STATE_DEFINITIONS.HEALING },
    DOWN: { description: SERVICE_STATE_DEFINITIONS.DOWN },
  } as const,
});

export const ServiceStatusRef = builder.objectRef<ServiceStatus>('ServiceStatus').implement({
  description: "One service name's state and why.",
  fields: (t) => ({
    name: t.exposeString('name'),
    state: t.expose('state', { type: ServiceStateEnum }),
    reasons: t.exposeStringList('reasons', { description: 'Sentences saying why; the one that decided the state first. Empty when ACTIVE.' }),
    instances: t.exposeInt('instances'),
    passing: t.exposeInt('passing'),
    warning: t.exposeInt('warning'),
    critical: t.exposeInt('critical', { description: 'Critical as discovery sees it (maintenance counts as critical).' }),
    minInstances: t.exposeInt('minInstances', { nullable: true, description: "From the service's policy, if any." }),
    maxInstances: t.exposeInt('maxInstances', { nullable: true, description: "From the service's policy, if any." }),
    until: t.expose('until', {
      type: 'DateTime',
      nullable: true,
      description: 'When the state changes by time alone (a change leaves the window); null: only a new change can move it. Ask again then instead of polling.',
    }),
  }),
});

const ServiceStateCountsRef = builder.objectRef<ServiceStateCounts>('ServiceStateCounts').implement({
  fields: (t) => ({
    active: t.exposeInt('active'),
    scaling: t.exposeInt('scaling'),
    healing: t.exposeInt('healing'),
    down: t.exposeInt('down'),
  }),
});

export const ServiceStateReportRef = builder.objectRef<ServiceStateReport>('ServiceStateReport').implement({
  fields: (t) => ({
    counts: t.expose('counts', { type: ServiceStateCountsRef }),
    services: t.expose('services', { type: [ServiceStatusRef], description: 'By name.' }),
    window: t.expose('windowMs', { type: 'Duration', description: 'How far back changes count.' }),
    computedAt: t.expose('computedAt', { type: 'DateTime' }),
  }),
});

export const ServicePolicyRef = builder.objectRef<ServicePolicy>('ServicePolicy').implement({
  description: 'How many instances a service should have. Outside the bounds it is SCALING (DOWN with none while minInstances >= 1).',
  fields: (t) => ({
    service: t.exposeString('service'),
    minInstances: t.exposeInt('minInstances', { nullable: true }),
    maxInstances: t.exposeInt('maxInstances', { nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const WINDOW_ARG = 'How far back changes count (default: SWITCHBOARD_STATE_WINDOW, 5m).';
const PREFIX_ARG = 'Only service names starting with this.';

builder.queryFields((t) => ({
  serviceStates: t.field({
    type: ServiceStateReportRef,
    description: 'Every service name with its state (ACTIVE, SCALING, HEALING, DOWN), the reasons, and counts per state.',
    args: { window: t.arg({ type: 'Duration', description: WINDOW_ARG }), prefix: t.arg.string({ description: PREFIX_ARG }) },
    resolve: (_root, args, context) =>
      computeServiceStates(context.db, context.catalog, { windowMs: args.window, prefix: args.prefix }, context.settings.states.windowMs),
  }),
  servicePolicy: t.field({
    type: ServicePolicyRef,
    nullable: true,
    args: { service: t.arg.string({ required: true }) },
    resolve: async (_root, args, context) => (await getServicePolicy(context.db, args.service)) ?? null,
  }),
  servicePolicies: t.field({
    type: [ServicePolicyRef],
    description: 'Every service policy, by service name.',
    resolve: (_root, _args, context) => listServicePolicies(context.db),
  }),
}));

builder.mutationFields((t) => ({
  setServicePolicy: t.field({
    type: ServicePolicyRef,
    description: "Sets how many instances a service should have (both bounds replaced; omit one for none). Needs WRITE on the service's name.",
    args: { service: t.arg.string({ required: true }), minInstances: t.arg.int(), maxInstances: t.arg.int() },
    resolve: (_root, args, context) => setServicePolicy(context.db, args, context.principal),
  }),
  deleteServicePolicy: t.boolean({
    description: 'Removes a service policy; false when there was none.',
    args: { service: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => deleteServicePolicy(context.db, args.service, context.principal),
  }),
}));

builder.subscriptionFields((t) => ({
  serviceStatesChanged: t.field({
    type: ServiceStateReportRef,
    description:
      'The states report at once, then again whenever it changes (a registration, removal, health or policy change, or an `until` passing); at most one per 250ms, never the same twice.',
    args: { window: t.arg({ type: 'Duration', description: WINDOW_ARG }), prefix: t.arg.string({ description: PREFIX_ARG }) },
    subscribe: (_root, args, context) =>
      watchServiceStates(
        { db: context.db, feed: context.feed, catalog: context.catalog, defaultWindowMs: context.settings.states.windowMs },
        { windowMs: args.window, prefix: args.prefix },
      ),
    resolve: (report) => report,
  }),
}));
