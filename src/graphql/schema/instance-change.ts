import { isServiceChange, watchInstanceChanges } from '../../registry/services/index.js';
import { builder } from '../builder.js';
import { HealthChangeRef } from './health-change.js';
import { ServiceChangeRef } from './service-change.js';

const InstanceChangeRef = builder.unionType('InstanceChange', {
  description: "A change of a service's instances: a registration, update or removal, or a health transition.",
  types: [ServiceChangeRef, HealthChangeRef],
  resolveType: (change) => (isServiceChange(change) ? ServiceChangeRef : HealthChangeRef),
});

builder.subscriptionFields((t) => ({
  instancesChanged: t.field({
    type: InstanceChangeRef,
    description:
      'What `serviceChanged` and `healthChanged` deliver, for several service names on one subscription, in event-id order. ' +
      'With `after`, first replays every change after that event id.',
    args: { names: t.arg.stringList({ required: true }), after: t.arg.id() },
    subscribe: (_root, args, context) => watchInstanceChanges(context.db, context.feed, args),
    resolve: (change) => change,
  }),
}));
