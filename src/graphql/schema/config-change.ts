import { watchConfig, type ConfigChange } from '../../registry/config/index.js';
import { builder } from '../builder.js';

const ConfigChangeRef = builder.objectRef<ConfigChange>('ConfigChange').implement({
  description: 'A change of the value a watcher sees for one key in one environment.',
  fields: (t) => ({
    eventId: t.exposeID('eventId', { description: 'Pass as `after` to resume from here.' }),
    key: t.exposeString('key'),
    environment: t.exposeString('environment', {
      nullable: true,
      description:
        'Whose value the watcher sees now (null: the global value), as `config(key, environment)` answers right after; when no value is left, the entry that changed.',
    }),
    changedEnvironment: t.exposeString('changedEnvironment', {
      nullable: true,
      description: 'Whose entry this change wrote or deleted (null: the global entry).',
    }),
    watchedEnvironment: t.exposeString('watchedEnvironment', { nullable: true }),
    oldValue: t.expose('oldValue', { type: 'JSON', nullable: true, description: 'The value the watcher saw before; null if none.' }),
    newValue: t.expose('newValue', { type: 'JSON', nullable: true, description: 'The value the watcher sees now; null if none.' }),
    version: t.exposeInt('version', { description: 'Version of the entry named by `environment` (as `config` answers).' }),
    deleted: t.exposeBoolean('deleted', { description: "The change deleted changedEnvironment's entry (the watcher may now see the global value)." }),
    inherited: t.exposeBoolean('inherited', {
      description: 'The global value answers for the watched environment, as `config` says (for a value now gone: it was the global one).',
    }),
    redacted: t.exposeBoolean('redacted', { description: 'The value is secret: changes do not carry it (read it with `config`, if you may).' }),
    timestamp: t.expose('changedAt', { type: 'DateTime' }),
  }),
});

builder.subscriptionFields((t) => ({
  configChanged: t.field({
    type: ConfigChangeRef,
    description:
      'Changes of the value `environment` sees for `key`, including global changes that show through. With `after`, first replays changes after that event id.',
    args: { key: t.arg.string({ required: true }), environment: t.arg.string(), after: t.arg.id() },
    subscribe: (_root, args, context) => watchConfig(context.db, context.feed, args),
    resolve: (change) => change,
  }),
  configPrefixChanged: t.field({
    type: ConfigChangeRef,
    description: 'Like configChanged, for every key under a prefix (e.g. "api.").',
    args: { prefix: t.arg.string({ required: true }), environment: t.arg.string(), after: t.arg.id() },
    subscribe: (_root, args, context) => watchConfig(context.db, context.feed, args),
    resolve: (change) => change,
  }),
}));
