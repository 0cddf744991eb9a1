import { selectInstance, type CandidateExplanation, type Selection } from '../../registry/selection/index.js';
import { updateWeight } from '../../registry/services/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { CircuitStateEnum } from './circuit-breaker.js';
import { ServiceInstanceRef } from './service.js';

const LoadBalancingStrategyEnum = builder.enumType('LoadBalancingStrategy', {
  values: ['ROUND_ROBIN', 'WEIGHTED', 'RANDOM', 'PRIORITY', 'CONSISTENT_HASH'] as const,
});

const ExclusionReasonEnum = builder.enumType('ExclusionReason', {
  values: {
    CRITICAL: { description: 'A health check is critical.' },
    WARNING: { description: 'A health check warns, and allowWarning was not set.' },
    MAINTENANCE: { description: 'The instance is in maintenance mode.' },
    TTL_EXPIRED: {
      description: 'Its TTL lease lapsed without a heartbeat.',
      deprecationReason: 'No longer reported: a lapsed instance is removed by the expiry sweep (SWITCHBOARD_EXPIRY_SWEEP) and so leaves selection.',
    },
    CIRCUIT_OPEN: { description: 'Its circuit breaker is open (cooling down).' },
    CIRCUIT_HALF_OPEN_BUSY: { description: 'Its breaker is half-open and has no probe to give right now.' },
    TAG_MISMATCH: { description: 'It lacks one of the requested tags.' },
    VERSION_MISMATCH: { description: 'Its version is outside the requested range (an instance registered without a version is in none).' },
    LOWER_PRIORITY_TIER: { description: 'Available, but a more preferred priority tier had an available instance.' },
    DRAINED: { description: 'Weight 0 while others in its tier have weight.' },
  } as const,
});

const SelectionCandidateRef = builder.objectRef<CandidateExplanation>('SelectionCandidate').implement({
  fields: (t) => ({
    instance: t.expose('instance', { type: ServiceInstanceRef }),
    eligible: t.exposeBoolean('eligible', { description: 'It was in the pool the pick was made from.' }),
    share: t.exposeFloat('share', { nullable: true, description: 'Its chance of being picked (consistent hashing: its share of keys).' }),
    weight: t.exposeInt('weight'),
    priority: t.exposeInt('priority'),
    circuit: t.expose('circuit', { type: CircuitStateEnum }),
    exclusions: t.expose('exclusions', { type: [ExclusionReasonEnum], description: 'Everything that kept it out; empty for eligible candidates.' }),
  }),
});

const SelectionRef = builder.objectRef<Selection>('Selection').implement({
  description: 'A selection with its reasoning: every instance of the service and why it was or was not in the running.',
  fields: (t) => ({
    selected: t.expose('selected', { type: ServiceInstanceRef, nullable: true }),
    strategy: t.expose('strategy', { type: LoadBalancingStrategyEnum }),
    tier: t.exposeInt('tier', { nullable: true, description: 'The priority tier chosen from.' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why nothing was selected.' }),
    candidates: t.expose('candidates', { type: [SelectionCandidateRef] }),
  }),
});

const selectionOptions = (context: GraphQLContext, explainOnly = false) => ({
  breaker: context.settings.breaker,
  state: context.selection,
  explainOnly,
});

const selectionArgs = (t: Parameters<Parameters<typeof builder.queryFields>[0]>[0]) => ({
  service: t.arg.string({ required: true }),
  strategy: t.arg({ type: LoadBalancingStrategyEnum, description: 'Defaults to ROUND_ROBIN.' }),
  hashKey: t.arg.string({ description: 'Required for CONSISTENT_HASH.' }),
  tags: t.arg.stringList(),
  version: t.arg.string({ description: 'A semver range.' }),
  allowWarning: t.arg.boolean({ description: 'Also choose instances whose checks warn.' }),
});

builder.queryFields((t) => ({
  selectInstance: t.field({
    type: ServiceInstanceRef,
    nullable: true,
    description:
      'One available instance of the service (passing, not in maintenance, circuit not open), chosen within the most preferred priority tier. Null when none is available (see selectInstanceExplained).',
    args: selectionArgs(t),
    resolve: async (_root, args, context) => (await selectInstance(context.db, context.catalog, args, selectionOptions(context))).selected,
  }),
  selectInstanceExplained: t.field({
    type: SelectionRef,
    description:
      'What selectInstance would choose now, with every candidate and the reasons it was or was not chosen from. Only explains: it takes no half-open probe and does not move the round-robin rotation.',
    args: selectionArgs(t),
    // Explaining does not select: no probe is taken and the rotation does not move.
    resolve: (_root, args, context) => selectInstance(context.db, context.catalog, args, selectionOptions(context, true)),
  }),
}));

builder.mutationFields((t) => ({
  updateWeight: t.field({
    type: ServiceInstanceRef,
    description: "Sets an instance's weight (0 drains it); every server uses it from the next selection.",
    args: { id: t.arg.id({ required: true }), weight: t.arg.int({ required: true }) },
    resolve: async (_root, args, context) => {
      return updateWeight(context.db, args.id, args.weight, context.principal);
    },
  }),
}));
