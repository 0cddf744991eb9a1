import { CONFIG_HISTORY_PAGE_DEFAULT, getConfigHistory, redact, type ConfigVersion } from '../../registry/config/index.js';
import { builder } from '../builder.js';
import { ConfigEntryRef, readableBy } from './config.js';

const ConfigVersionRef = builder.objectRef<ConfigVersion>('ConfigVersion').implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    environment: t.exposeString('environment', { nullable: true }),
    version: t.exposeInt('version'),
    value: t.expose('value', { type: 'JSON', nullable: true, description: 'Null for a deletion.' }),
    deleted: t.exposeBoolean('deleted'),
    secret: t.exposeBoolean('secret'),
    redacted: t.exposeBoolean('redacted'),
    changedAt: t.expose('changedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  configHistory: t.field({
    type: [ConfigVersionRef],
    description: 'Kept versions of one key in one environment, newest first.',
    args: {
      key: t.arg.string({ required: true }),
      environment: t.arg.string(),
      first: t.arg.int({ description: '1 to 1000.', defaultValue: CONFIG_HISTORY_PAGE_DEFAULT }),
    },
    resolve: async (_root, args, context) =>
      (await getConfigHistory(context.db, args.key, args.environment, args.first ?? undefined)).map((entry) => redact(entry, readableBy(context))),
  }),
}));

builder.mutationFields((t) => ({
  rollbackConfig: t.field({
    type: ConfigEntryRef,
    description: "Makes an earlier version's value current again, as a new version.",
    args: {
      key: t.arg.string({ required: true }),
      environment: t.arg.string(),
      version: t.arg.int({ required: true }),
      expectedVersion: t.arg.int(),
    },
    resolve: async (_root, args, context) => redact(await context.configWriter.rollback(args, context.principal), readableBy(context)),
  }),
}));
