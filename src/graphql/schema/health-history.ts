import { HEALTH_HISTORY_PAGE_DEFAULT, healthHistory, type HealthTransition } from '../../registry/health/index.js';
import { builder } from '../builder.js';
import { HealthStatusTypeEnum } from './health-inputs.js';

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

builder.queryFields((t) => ({
  healthHistory: t.field({
    type: [HealthTransitionRef],
    description: 'Recent health transitions of an instance, newest first (the last 100 are kept).',
    args: { id: t.arg.id({ required: true }), last: t.arg.int({ description: '1 to 1000.', defaultValue: HEALTH_HISTORY_PAGE_DEFAULT }) },
    resolve: (_root, args, context) => healthHistory(context.db, args.id, args.last ?? undefined),
  }),
}));
