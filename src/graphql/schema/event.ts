import { publishEvent } from '../../registry/custom-events/publish.js';
import { EVENT_PAGE_DEFAULT, latestEventId, listEvents } from '../../events/read.js';
import { watchEvents } from '../../events/subscribe.js';
import type { EventActor } from '../../events/actor.js';
import type { StoredEvent } from '../../events/types.js';
import { builder } from '../builder.js';

const EventActorRef = builder.objectRef<EventActor>('EventActor').implement({
  description: 'Who caused an event: the token (id and name) that made the change.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'A token id; "admin" for SWITCHBOARD_ADMIN_TOKEN; "anonymous" when the server runs open.' }),
    name: t.exposeString('name'),
  }),
});

const EventRef = builder.objectRef<StoredEvent>('Event').implement({
  description: 'One entry of the change log. Ids ascend in commit order; pass one as `after` to resume.',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.exposeString('type'),
    source: t.exposeString('source'),
    data: t.expose('data', { type: 'JSON' }),
    actor: t.expose('actor', { type: EventActorRef, nullable: true, description: "Null for the registry's own work (expiry, health checks, retention)." }),
    timestamp: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  events: t.field({
    type: [EventRef],
    description: 'A page of the event log after `after` (exclusive), oldest first.',
    args: {
      types: t.arg.stringList({ description: 'Exact types ("service.registered") or prefixes ("service.*"). Absent: every type.' }),
      after: t.arg.id({ description: 'An event id; absent or "0": from the beginning.' }),
      first: t.arg.int({ description: 'Page size, 1 to 1000.', defaultValue: EVENT_PAGE_DEFAULT }),
    },
    resolve: (_root, args, context) => listEvents(context.db, args),
  }),
  latestEventId: t.id({
    description: 'Id of the newest committed event ("0" if none). Read it before a snapshot, then subscribe with `after` set to it: nothing falls between.',
    resolve: async (_root, _args, context) => String(await latestEventId(context.db)),
  }),
}));

const EventInput = builder.inputType('EventInput', {
  fields: (t) => ({
    type: t.string({
      required: true,
      description: 'Lower-case dotted words, e.g. "deploy.finished"; built-in namespaces (service., config., …) are reserved.',
    }),
    source: t.string({ required: true, description: 'Who is publishing, e.g. "ci/pipeline-42".' }),
    data: t.field({ type: 'JSON', description: 'A JSON object, up to 64 KiB.' }),
  }),
});

builder.mutationFields((t) => ({
  publishEvent: t.field({
    type: EventRef,
    description: 'Appends a custom event to the log; subscribers see it like any other.',
    args: { input: t.arg({ type: EventInput, required: true }) },
    resolve: (_root, { input }, context) => publishEvent(context.db, input, context.principal),
  }),
}));

builder.subscriptionFields((t) => ({
  events: t.field({
    type: EventRef,
    description: 'Every event after `after` (replayed from the log), then live ones: in commit order, each exactly once. Without `after`: live events only.',
    args: {
      types: t.arg.stringList({ description: 'Exact types ("service.registered") or prefixes ("service.*"). Absent: every type.' }),
      after: t.arg.id(),
    },
    subscribe: (_root, args, context) => watchEvents(context.db, context.feed, args),
    resolve: (event) => event,
  }),
}));
