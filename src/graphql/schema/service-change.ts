import { watchServiceChanges, type ServiceChange } from '../../registry/services/index.js';
import { builder } from '../builder.js';
import { ServiceInstanceRef } from './service.js';

const ServiceChangeKindEnum = builder.enumType('ServiceChangeKind', {
  values: ['REGISTERED', 'UPDATED', 'DEREGISTERED', 'EXPIRED', 'REAPED'] as const,
});

export const ServiceChangeRef = builder.objectRef<ServiceChange>('ServiceChange').implement({
  fields: (t) => ({
    eventId: t.exposeID('eventId', { description: 'Pass as `after` to resume from here.' }),
    kind: t.expose('kind', { type: ServiceChangeKindEnum }),
    serviceId: t.exposeID('serviceId'),
    name: t.exposeString('name'),
    instance: t.expose('instance', { type: ServiceInstanceRef, description: 'The instance as of this change (its last state, for removals).' }),
    reason: t.exposeString('reason', { nullable: true }),
    detail: t.exposeString('detail', {
      nullable: true,
      description:
        'Why, in words, when the reason code says too little: a source\'s removals ("source etcd-prod unreachable for 1m", "withdrawn by source etcd-prod").',
    }),
    timestamp: t.expose('timestamp', { type: 'DateTime' }),
  }),
});

builder.subscriptionFields((t) => ({
  serviceChanged: t.field({
    type: ServiceChangeRef,
    description: 'Registrations, updates and removals, for one service name or all. With `after`, first replays every change after that event id.',
    args: { name: t.arg.string(), after: t.arg.id() },
    subscribe: (_root, args, context) => watchServiceChanges(context.db, context.feed, args),
    resolve: (change) => change,
  }),
}));
