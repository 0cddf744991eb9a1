import { createSilence, expireSilence, listSilences, type Silence } from '../../registry/alerts/index.js';
import { builder } from '../builder.js';

const SilenceRef = builder.objectRef<Silence>('Silence').implement({
  description: 'While it lasts, matching alerts still change state but send no webhook.',
  fields: (t) => ({
    id: t.exposeID('id'),
    ruleId: t.exposeID('ruleId', { nullable: true }),
    matchers: t.expose('matchers', { type: 'JSON', description: 'Label name to value; every one must match.' }),
    comment: t.exposeString('comment'),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    startsAt: t.expose('startsAt', { type: 'DateTime' }),
    endsAt: t.expose('endsAt', { type: 'DateTime' }),
    active: t.boolean({ resolve: (silence) => silence.startsAt.getTime() <= Date.now() && silence.endsAt.getTime() > Date.now() }),
  }),
});

const SilenceInputRef = builder.inputType('SilenceInput', {
  fields: (t) => ({
    ruleId: t.id({ description: "Silence this rule's alerts (with matchers: only those matching)." }),
    matchers: t.field({ type: 'JSON', description: 'Label name to value, e.g. {"service": "payments"}.' }),
    until: t.field({ type: 'DateTime', description: 'When it ends (or give duration).' }),
    duration: t.field({ type: 'Duration', description: 'How long it lasts from now (or give until).' }),
    comment: t.string({ required: true }),
  }),
});

builder.queryFields((t) => ({
  silences: t.field({
    type: [SilenceRef],
    description: 'Silences, newest first; active: true only those in force, false only ended ones.',
    args: { active: t.arg.boolean() },
    resolve: (_root, args, context) => listSilences(context.db, args.active),
  }),
}));

builder.mutationFields((t) => ({
  createSilence: t.field({
    type: SilenceRef,
    args: { input: t.arg({ type: SilenceInputRef, required: true }) },
    resolve: (_root, { input }, context) =>
      createSilence(
        context.db,
        {
          ruleId: input.ruleId,
          matchers: input.matchers as Record<string, string>,
          until: input.until,
          durationMs: input.duration,
          comment: input.comment,
        },
        context.principal,
      ),
  }),
  expireSilence: t.field({
    type: SilenceRef,
    description: 'Ends a silence now. NOT_FOUND when unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => expireSilence(context.db, args.id, context.principal),
  }),
}));
