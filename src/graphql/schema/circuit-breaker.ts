import { view, watchCircuitChanges, type CircuitBreakerView, type CircuitChange } from '../../registry/breakers/index.js';
import { noteAppended } from '../../events/actor.js';
import { builder } from '../builder.js';
import { ServiceInstanceRef } from './service.js';

export const CircuitStateEnum = builder.enumType('CircuitState', { values: ['CLOSED', 'OPEN', 'HALF_OPEN'] as const });

const CircuitBreakerRef = builder.objectRef<CircuitBreakerView>('CircuitBreaker').implement({
  fields: (t) => ({
    state: t.expose('state', { type: CircuitStateEnum }),
    failures: t.exposeInt('failures', { description: 'Failed calls in the rolling window.' }),
    calls: t.exposeInt('calls', { description: 'Reported calls in the rolling window.' }),
    openedAt: t.expose('openedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.objectField(ServiceInstanceRef, 'circuitBreaker', (t) =>
  t.field({
    type: CircuitBreakerRef,
    description: 'The breaker fed by reportCallOutcome (shared by every server).',
    resolve: async (instance, _args, context) => view(await context.loaders.breakersByService.load(instance.id), Date.now(), context.settings.breaker),
  }),
);

builder.mutationFields((t) => ({
  reportCallOutcome: t.field({
    type: ServiceInstanceRef,
    description: 'Reports how a call to the instance went; feeds its circuit breaker. Reports are batched, so report every call.',
    args: { id: t.arg.id({ required: true }), success: t.arg.boolean({ required: true }), latency: t.arg({ type: 'Duration' }) },
    resolve: async (_root, args, context) => {
      // The batch's events (a breaker opening) count as this write's, for read-your-writes.
      // Who may report on the instance is checked in the write, under its row lock.
      noteAppended(await context.outcomes.report(args.id, { success: args.success, latencyMs: args.latency }, context.principal));
      return args.id;
    },
  }),
}));

const CircuitChangeRef = builder.objectRef<CircuitChange>('CircuitChange').implement({
  fields: (t) => ({
    eventId: t.exposeID('eventId'),
    serviceId: t.exposeID('serviceId'),
    name: t.exposeString('name'),
    previousState: t.expose('previousState', { type: CircuitStateEnum }),
    state: t.expose('state', { type: CircuitStateEnum }),
    calls: t.exposeInt('calls'),
    failures: t.exposeInt('failures'),
    timestamp: t.expose('timestamp', { type: 'DateTime' }),
  }),
});

builder.subscriptionFields((t) => ({
  circuitChanged: t.field({
    type: CircuitChangeRef,
    description: "Circuit breaker transitions (opened, half-opened, closed) of one service's instances, or all.",
    args: { name: t.arg.string(), after: t.arg.id() },
    subscribe: (_root, args, context) => watchCircuitChanges(context.db, context.feed, args),
    resolve: (change) => change,
  }),
}));
