import type { ComposedComponent, CompositionProblem, ExcludedComponent } from '@switchboard/contracts';
import { composeFlow, watchFlow, type Component, type Composition } from '../../registry/components/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { ComponentRef, ComponentTypeEnum } from './component.js';

const CompositionRoleEnum = builder.enumType('CompositionRole', {
  values: {
    STEP: { description: "Declared in the FLOW component's metadata.steps." },
    REQUIRED: { description: 'Named in requirements.require.' },
    COMPATIBLE: { description: 'Declares the flow (or one of its tags) in its `flows`.' },
    DEPENDENCY: { description: 'Needed by another component of the flow (or by the FLOW component itself).' },
  } as const,
});

const CompositionExclusionReasonEnum = builder.enumType('CompositionExclusionReason', {
  values: {
    INCOMPATIBLE: { description: "Its `flows` do not include this flow, or only outside the flow's version." },
    VERSION_CONFLICT: {
      description:
        'Another version of it, or of a component it needs, is in the flow (a flow has one version of each): a lower version that lost, or two components needing incompatible versions of a third.',
    },
    MISSING_DEPENDENCY: { description: 'A dependency (or one of theirs) is not registered in a version in range.' },
    UNHEALTHY_PROVIDER: { description: 'Its provider service (or a dependency’s) has no passing instance.' },
    CYCLE: { description: 'Its dependencies lead back to it.' },
  } as const,
});

const CompositionProblemCodeEnum = builder.enumType('CompositionProblemCode', {
  values: {
    MISSING_STEP: { description: 'A step the FLOW component declares cannot be had (not registered, or every version excluded).' },
    MISSING_REQUIREMENT: { description: 'A component requirements.require names cannot be had.' },
    MISSING_DEPENDENCY: { description: "One of the FLOW component's own dependencies cannot be had." },
    INVALID_FLOW: { description: "The FLOW component's metadata.steps is not a list of step names." },
    UNKNOWN_FLOW_VERSION: { description: 'FLOW components of that name exist, none in requirements.flowVersion.' },
  } as const,
});

const ComposedComponentRef = builder.objectRef<ComposedComponent<Component>>('ComposedComponent').implement({
  description: 'A component in the flow, in order.',
  fields: (t) => ({
    component: t.expose('component', { type: ComponentRef }),
    role: t.expose('role', { type: CompositionRoleEnum }),
    dependsOn: t.exposeIDList('dependsOn', { description: 'The ids of the components of the flow it depends on (all earlier in the order).' }),
  }),
});

const CompositionExclusionRef = builder.objectRef<ExcludedComponent<Component>>('CompositionExclusion').implement({
  description: 'A candidate left out of the flow, and why.',
  fields: (t) => ({
    component: t.expose('component', { type: ComponentRef }),
    reason: t.expose('reason', { type: CompositionExclusionReasonEnum }),
    message: t.exposeString('message', { description: 'A sentence naming what it conflicts with, misses or waits for.' }),
    related: t.exposeStringList('related', {
      description: 'What the reason names: the id it lost to or conflicts with, the missing dependency ("geo@^1"), the provider service, the cycle’s ids.',
    }),
  }),
});

const CompositionProblemRef = builder.objectRef<CompositionProblem>('CompositionProblem').implement({
  description: 'Why the flow is not complete.',
  fields: (t) => ({
    code: t.expose('code', { type: CompositionProblemCodeEnum }),
    subject: t.exposeString('subject', { description: 'The declared step, requirement or dependency ("charge@^1"), or the flow.' }),
    message: t.exposeString('message'),
  }),
});

const ComposedFlowRef = builder.objectRef<Composition['flow']>('ComposedFlow').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    component: t.expose('component', { type: ComponentRef, nullable: true, description: 'The FLOW component composed from; null when none is registered.' }),
    version: t.exposeString('version', { nullable: true, description: 'The version `flows` ranges were checked against; null when unknown.' }),
    tags: t.exposeStringList('tags', { description: 'The FLOW component’s metadata.tags ("tag:" declarations match these).' }),
    timeout: t.exposeString('timeout', { nullable: true, description: 'The FLOW component’s metadata.timeout.' }),
    steps: t.exposeStringList('steps', { description: 'The steps the FLOW component declares, in order.' }),
  }),
});

const FlowCompositionRef = builder.objectRef<Composition>('FlowComposition').implement({
  description:
    'Which registered components fit a flow: one version each, dependencies first, with every candidate left out and why (as selectInstanceExplained explains a selection).',
  fields: (t) => ({
    flow: t.expose('flow', { type: ComposedFlowRef }),
    components: t.expose('components', { type: [ComposedComponentRef], description: 'In order: each after the components it depends on.' }),
    excluded: t.expose('excluded', { type: [CompositionExclusionRef], description: 'By type, then name, newest first.' }),
    problems: t.expose('problems', { type: [CompositionProblemRef] }),
    complete: t.exposeBoolean('complete', { description: 'Every declared step, required component and flow dependency is in (no problems).' }),
  }),
});

const ComposeRequirements = builder.inputType('ComposeRequirements', {
  fields: (t) => ({
    types: t.field({
      type: [ComponentTypeEnum],
      description: 'The kinds that join by declared compatibility (not FLOW). Default: STEP, TRANSFORMER, VALIDATOR, MIDDLEWARE.',
    }),
    flowVersion: t.string({
      description:
        'A version or range: picks the highest FLOW component in it. With no FLOW component registered, the version "checkout@^2" declarations are checked against.',
    }),
    require: t.stringList({ description: 'Components that must be in: "name" or "name@range" (at most 64).' }),
  }),
});

const flowDeps = (context: GraphQLContext) => ({ db: context.db, feed: context.feed, catalog: context.catalog });

const FLOW_ARG = 'A FLOW component’s name or id, or the name components declare in `flows`.';

builder.queryFields((t) => ({
  composeFlow: t.field({
    type: FlowCompositionRef,
    description: 'Which registered steps, transformers, validators and middleware fit the flow now, resolved to one version each and ordered.',
    args: { flow: t.arg.string({ required: true, description: FLOW_ARG }), requirements: t.arg({ type: ComposeRequirements }) },
    resolve: (_root, args, context) => composeFlow(flowDeps(context), args.flow, args.requirements),
  }),
}));

builder.subscriptionFields((t) => ({
  flowChanged: t.field({
    type: FlowCompositionRef,
    description:
      'The composition at once, then again whenever it changes (a component registered or removed, a provider’s health moving); never the same twice.',
    args: { flow: t.arg.string({ required: true, description: FLOW_ARG }), requirements: t.arg({ type: ComposeRequirements }) },
    subscribe: (_root, args, context) => watchFlow(flowDeps(context), args.flow, args.requirements),
    resolve: (composition) => composition,
  }),
}));
