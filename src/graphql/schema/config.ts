import { getConfig, listConfigs, redact, type ConfigEntry } from '../../registry/config/index.js';
import { canReadSecret } from '../../registry/access/index.js';
import type { GraphQLContext } from '../context.js';
import { builder } from '../builder.js';

/** Who may see secret values: those who may write the key. */
export const readableBy = (context: GraphQLContext) => (key: string) => canReadSecret(context.principal, key);

export const ConfigEntryRef = builder.objectRef<ConfigEntry>('ConfigEntry').implement({
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
}));

builder.mutationFields((t) => ({
  setConfig: t.field({
    type: ConfigEntryRef,
    description:
      'Sets a value (any JSON but null). With expectedVersion: compare-and-set, 0 meaning "must not exist"; a mismatch is CONFLICT and writes nothing.',
    args: {
      key: t.arg.string({ required: true, description: 'Dotted name, e.g. "api.timeout".' }),
      value: t.arg({ type: 'JSON', required: true }),
      environment: t.arg.string({ description: 'Absent: the global value.' }),
      expectedVersion: t.arg.int(),
      secret: t.arg.boolean({ description: 'Mark the value secret (absent: as it was).' }),
    },
    resolve: async (_root, args, context) => redact(await context.configWriter.set(args, context.principal), readableBy(context)),
  }),
  deleteConfig: t.boolean({
    description: 'Deletes a value; an environment then falls back to the global one. NOT_FOUND when there is none.',
    args: { key: t.arg.string({ required: true }), environment: t.arg.string(), expectedVersion: t.arg.int() },
    resolve: async (_root, args, context) => {
      await context.configWriter.delete(args, context.principal);
      return true;
    },
  }),
}));
