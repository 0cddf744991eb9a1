import {
  deleteConfig,
  getConfig,
  getConfigHistory,
  listConfigs,
  rollbackConfig,
  setConfig,
  watchConfig,
  type ConfigChange,
  type ConfigEntry,
  type ConfigVersion,
} from '../../registry/config/index.js';
import { builder } from '../builder.js';

const ConfigEntryRef = builder.objectRef<ConfigEntry>('ConfigEntry').implement({
  description: 'A configuration value.',
  fields: (t) => ({
    key: t.exposeString('key'),
    environment: t.exposeString('environment', { nullable: true, description: 'Whose value this is: an environment, or null for the global value.' }),
    value: t.expose('value', { type: 'JSON' }),
    version: t.exposeInt('version', { description: 'Starts at 1; grows by one per change of this key in this environment.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    inherited: t.exposeBoolean('inherited', { description: 'True when an environment was asked for and the global value answered.' }),
  }),
});

const ConfigVersionRef = builder.objectRef<ConfigVersion>('ConfigVersion').implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    environment: t.exposeString('environment', { nullable: true }),
    version: t.exposeInt('version'),
    value: t.expose('value', { type: 'JSON', nullable: true, description: 'Null for a deletion.' }),
    deleted: t.exposeBoolean('deleted'),
    changedAt: t.expose('changedAt', { type: 'DateTime' }),
  }),
});

const ConfigChangeRef = builder.objectRef<ConfigChange>('ConfigChange').implement({
  description: 'A change of the value a watcher sees for one key in one environment.',
  fields: (t) => ({
    eventId: t.exposeID('eventId', { description: 'Pass as `after` to resume from here.' }),
    key: t.exposeString('key'),
    environment: t.exposeString('environment', { nullable: true, description: 'Whose entry changed (null: the global value).' }),
    watchedEnvironment: t.exposeString('watchedEnvironment', { nullable: true }),
    oldValue: t.expose('oldValue', { type: 'JSON', nullable: true, description: 'The value the watcher saw before; null if none.' }),
    newValue: t.expose('newValue', { type: 'JSON', nullable: true, description: 'The value the watcher sees now; null if none.' }),
    version: t.exposeInt('version', { description: 'Version of the entry that changed.' }),
    deleted: t.exposeBoolean('deleted'),
    inherited: t.exposeBoolean('inherited', { description: 'A global change showing through: the environment has no value of its own.' }),
    timestamp: t.expose('changedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  config: t.field({
    type: ConfigEntryRef,
    nullable: true,
    description: "The environment's value, else the global one (see `environment`/`inherited`); null when neither exists.",
    args: { key: t.arg.string({ required: true }), environment: t.arg.string() },
    resolve: (_root, args, context) => getConfig(context.db, args.key, args.environment),
  }),
  configs: t.field({
    type: [ConfigEntryRef],
    description: 'Effective values of every key under `prefix` for `environment` (global fallback), by key.',
    args: { prefix: t.arg.string(), environment: t.arg.string() },
    resolve: (_root, args, context) => listConfigs(context.db, args.prefix, args.environment),
  }),
  configHistory: t.field({
    type: [ConfigVersionRef],
    description: 'Kept versions of one key in one environment, newest first.',
    args: { key: t.arg.string({ required: true }), environment: t.arg.string(), first: t.arg.int({ description: '1 to 1000 (default 100).' }) },
    resolve: (_root, args, context) => getConfigHistory(context.db, args.key, args.environment, args.first ?? undefined),
  }),
}));

builder.mutationFields((t) => ({
  setConfig: t.field({
    type: ConfigEntryRef,
    description: 'Sets a value (any JSON but null). With expectedVersion: compare-and-set, 0 meaning "must not exist"; a mismatch is CONFLICT and writes nothing.',
    args: {
      key: t.arg.string({ required: true, description: 'Dotted name, e.g. "api.timeout".' }),
      value: t.arg({ type: 'JSON', required: true }),
      environment: t.arg.string({ description: 'Absent: the global value.' }),
      expectedVersion: t.arg.int(),
    },
    resolve: (_root, args, context) => setConfig(context.db, args, context.settings.config),
  }),
  deleteConfig: t.boolean({
    description: 'Deletes a value; an environment then falls back to the global one. NOT_FOUND when there is none.',
    args: { key: t.arg.string({ required: true }), environment: t.arg.string(), expectedVersion: t.arg.int() },
    resolve: async (_root, args, context) => {
      await deleteConfig(context.db, args, context.settings.config);
      return true;
    },
  }),
  rollbackConfig: t.field({
    type: ConfigEntryRef,
    description: 'Makes an earlier version\'s value current again, as a new version.',
    args: {
      key: t.arg.string({ required: true }),
      environment: t.arg.string(),
      version: t.arg.int({ required: true }),
      expectedVersion: t.arg.int(),
    },
    resolve: (_root, args, context) => rollbackConfig(context.db, args, context.settings.config),
  }),
}));

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
