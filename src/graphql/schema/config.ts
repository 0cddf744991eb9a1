import {
  CONFIG_HISTORY_PAGE_DEFAULT,
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
  redact,
} from '../../registry/config/index.js';
import { canReadSecret } from '../../registry/access/index.js';
import type { GraphQLContext } from '../context.js';
import { authorizeKeyWrite } from '../authorize.js';
import { builder } from '../builder.js';

/** Who may see secret values: those who may write the key. */
const readableBy = (context: GraphQLContext) => (key: string) => canReadSecret(context.principal, key);

const ConfigEntryRef = builder.objectRef<ConfigEntry>('ConfigEntry').implement({
  description: 'A configuration value.',
  fields: (t) => ({
    key: t.exposeString('key'),
    environment: t.exposeString('environment', { nullable: true, description: 'Whose value this is: an environment, or null for the global value.' }),
    value: t.expose('value', { type: 'JSON', nullable: true, description: 'Null only when the value is secret and withheld from this caller (see redacted).' }),
    version: t.exposeInt('version', { description: 'Starts at 1; grows by one per change of this key in this environment.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    inherited: t.exposeBoolean('inherited', { description: 'True when an environment was asked for and the global value answered.' }),
    secret: t.exposeBoolean('secret', { description: 'Secret values are shown only to tokens that may write the key, and never put in events.' }),
    redacted: t.exposeBoolean('redacted', { description: 'The value is secret and withheld from this caller (value is null).' }),
  }),
});

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
    changedEnvironment: t.exposeString('changedEnvironment', { nullable: true, description: 'Whose entry this change wrote or deleted (null: the global entry).' }),
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

builder.queryFields((t) => ({
  config: t.field({
    type: ConfigEntryRef,
    nullable: true,
    description: "The environment's value, else the global one (see `environment`/`inherited`); null when neither exists.",
    args: { key: t.arg.string({ required: true }), environment: t.arg.string() },
    resolve: async (_root, args, context) => {
      const entry = await getConfig(context.db, args.key, args.environment);
      return entry && redact(entry, readableBy(context));
    },
  }),
  configs: t.field({
    type: [ConfigEntryRef],
    description: 'Effective values of every key under `prefix` for `environment` (global fallback), by key.',
    args: { prefix: t.arg.string(), environment: t.arg.string() },
    resolve: async (_root, args, context) => (await listConfigs(context.db, args.prefix, args.environment)).map((entry) => redact(entry, readableBy(context))),
  }),
  configHistory: t.field({
    type: [ConfigVersionRef],
    description: 'Kept versions of one key in one environment, newest first.',
    args: { key: t.arg.string({ required: true }), environment: t.arg.string(), first: t.arg.int({ description: '1 to 1000.', defaultValue: CONFIG_HISTORY_PAGE_DEFAULT }) },
    resolve: async (_root, args, context) =>
      (await getConfigHistory(context.db, args.key, args.environment, args.first ?? undefined)).map((entry) => redact(entry, readableBy(context))),
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
      secret: t.arg.boolean({ description: 'Mark the value secret (absent: as it was).' }),
    },
    resolve: async (_root, args, context) => {
      authorizeKeyWrite(context, args.key);
      return redact(await setConfig(context.db, args, context.settings.config), readableBy(context));
    },
  }),
  deleteConfig: t.boolean({
    description: 'Deletes a value; an environment then falls back to the global one. NOT_FOUND when there is none.',
    args: { key: t.arg.string({ required: true }), environment: t.arg.string(), expectedVersion: t.arg.int() },
    resolve: async (_root, args, context) => {
      authorizeKeyWrite(context, args.key);
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
    resolve: async (_root, args, context) => {
      authorizeKeyWrite(context, args.key);
      return redact(await rollbackConfig(context.db, args, context.settings.config), readableBy(context));
    },
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
