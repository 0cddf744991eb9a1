import { setMaintenance } from '../../registry/health/index.js';
import { builder } from '../builder.js';
import { ServiceInstanceRef } from './service.js';

const MaintenanceRef = builder.objectRef<{ reason: string | null; since: Date }>('Maintenance').implement({
  fields: (t) => ({
    reason: t.exposeString('reason', { nullable: true }),
    since: t.expose('since', { type: 'DateTime' }),
  }),
});

builder.objectField(ServiceInstanceRef, 'maintenance', (t) =>
  t.field({
    type: MaintenanceRef,
    nullable: true,
    description: 'Set while the instance is in maintenance (out of passing discovery).',
    resolve: (instance) => (instance.maintenanceSince ? { reason: instance.maintenanceReason, since: instance.maintenanceSince } : null),
  }),
);

builder.mutationFields((t) => ({
  setMaintenance: t.field({
    type: ServiceInstanceRef,
    description: 'Takes an instance out of passing discovery (or puts it back) without deregistering it.',
    args: { id: t.arg.id({ required: true }), enabled: t.arg.boolean({ required: true }), reason: t.arg.string() },
    resolve: async (_root, args, context) => {
      return setMaintenance(context.db, args.id, args, context.principal);
    },
  }),
}));
