import { COMPONENT_TYPES } from '@switchboard/contracts';
import { getComponentsByIds, listComponents, registerComponent, unregisterComponent } from '../../registry/components/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';

export const ComponentTypeEnum = builder.enumType('ComponentType', { values: COMPONENT_TYPES });

export const ComponentRef = builder.loadableObjectRef('Component', {
  load: (ids: string[], context: GraphQLContext) => getComponentsByIds(context.db, ids),
  sort: (component) => component.id,
});

ComponentRef.implement({
  description: 'A framework component (step, transformer, validator, flow, middleware or plugin) in the catalogue.',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.expose('type', { type: ComponentTypeEnum }),
    name: t.exposeString('name'),
    version: t.exposeString('version'),
    description: t.exposeString('description', { nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON' }),
    flows: t.exposeStringList('flows', {
      description:
        'The flows it declares it serves: "checkout" (any version), "checkout@^2" (a range of the flow\'s version), "tag:payments" (flows tagged so).',
    }),
    provider: t.exposeString('provider', {
      nullable: true,
      description: 'The service whose instances run it; composition leaves the component out while no instance passes.',
    }),
    registeredAt: t.expose('registeredAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  component: t.field({
    type: ComponentRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args) => args.id,
  }),
  components: t.field({
    type: [ComponentRef],
    description: 'The catalogue, optionally of one type and/or name; by name, newest version first.',
    args: { type: t.arg({ type: ComponentTypeEnum }), name: t.arg.string() },
    resolve: (_root, args, context) => listComponents(context.db, args),
  }),
}));

const ComponentInput = builder.inputType('ComponentInput', {
  fields: (t) => ({
    id: t.id({
      description:
        'Defaults to "<name>@<version>": each version of a name is its own component. For a display name, its slug and version: "Custom API Step" 1.0.0 -> "custom-api-step-1.0.0".',
    }),
    type: t.field({ type: ComponentTypeEnum, required: true }),
    name: t.string({
      required: true,
      description: 'A display name ("Custom API Step": any printable text, at most 128 characters) or a package-like name ("http-client").',
    }),
    version: t.string({ required: true, description: 'Semantic version.' }),
    description: t.string(),
    dependencies: t.stringList({
      description:
        'Other components by id or name, optionally with a range: "http-client", "http-client@^1.2", "custom-api-step-v1". A component with a display name is named by its id.',
    }),
    metadata: t.field({ type: 'JSON', description: 'Any JSON object, up to 64 KiB.' }),
    flows: t.stringList({
      description:
        'The flows it serves (steps, transformers, validators, middleware): "checkout", "checkout@^2" (a semver range of the flow\'s version), "tag:payments" (any flow whose FLOW component has that tag in metadata.tags). At most 64.',
    }),
    provider: t.string({ description: 'The service (a name) whose instances run it.' }),
  }),
});

builder.mutationFields((t) => ({
  registerComponent: t.field({
    type: ComponentRef,
    description: 'Registers a component, or updates it when the id exists. Dependencies need not be registered yet.',
    args: { input: t.arg({ type: ComponentInput, required: true }) },
    resolve: (_root, { input }, context) => registerComponent(context.db, input, context.principal),
  }),
  unregisterComponent: t.boolean({
    description: 'Removes a component; NOT_FOUND when the id is unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await unregisterComponent(context.db, args.id, context.principal);
      return true;
    },
  }),
}));
