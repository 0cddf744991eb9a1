import { watchHealthChanges, type HealthChange } from '../../registry/health/index.js';
import { builder } from '../builder.js';
import { HealthStatusTypeEnum } from './health-inputs.js';

export const HealthChangeRef = builder.objectRef<HealthChange>('HealthChange').implement({
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

builder.subscriptionFields((t) => ({
  healthChanged: t.field({
    type: HealthChangeRef,
    description: "Health transitions (not every check run) of one service's instances, or all. With `after`, replays first.",
    args: { name: t.arg.string(), after: t.arg.id() },
    subscribe: (_root, args, context) => watchHealthChanges(context.db, context.feed, args),
    resolve: (change) => change,
  }),
}));
