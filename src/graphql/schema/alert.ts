import DataLoader from 'dataloader';
import {
  deliveriesOfAlerts,
  getAlertRule,
  listAlerts,
  listDeliveries,
  watchAlertChanges,
  type AlertChange,
  type AlertView,
  type WebhookDelivery,
} from '../../registry/alerts/index.js';
import type { GraphQLContext } from '../context.js';
import { builder } from '../builder.js';
import { AlertRuleRef } from './alert-rule.js';

export const AlertStateEnum = builder.enumType('AlertState', {
  values: {
    PENDING: { description: "The condition holds, not yet for the rule's `for`." },
    FIRING: { description: 'Fired (alert.firing); webhooks sent unless silenced.' },
    RESOLVED: { description: 'Fired, then the condition stopped holding (alert.resolved).' },
  } as const,
});

const DeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  values: {
    PENDING: { description: 'Not sent yet, or to be retried at nextAttemptAt.' },
    DELIVERED: { description: 'The receiver answered 2xx.' },
    FAILED: { description: 'Attempts spent, or a refusal retrying cannot fix (4xx, a target the registry may not reach).' },
  } as const,
});

const AlertStatusEnum = builder.enumType('AlertStatus', { values: ['firing', 'resolved'] as const, description: 'As in the webhook payload.' });

const WebhookDeliveryRef = builder.objectRef<WebhookDelivery>('WebhookDelivery').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    alertId: t.exposeID('alertId', { nullable: true }),
    ruleId: t.exposeID('ruleId'),
    alertStatus: t.expose('alertStatus', { type: AlertStatusEnum }),
    receiver: t.exposeString('receiver'),
    url: t.exposeString('url'),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    attempts: t.exposeInt('attempts'),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true, description: "The receiver's last HTTP status; null if it never answered." }),
    lastError: t.exposeString('lastError', { nullable: true }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', description: 'For PENDING: when it is (re)tried.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
  }),
});

/** One loader per request, kept beside the request's other loaders. */
const deliveryLoaders = new WeakMap<object, DataLoader<string, WebhookDelivery[]>>();
function deliveriesLoader(context: GraphQLContext): DataLoader<string, WebhookDelivery[]> {
  let loader = deliveryLoaders.get(context.loaders);
  if (!loader) {
    loader = new DataLoader(async (ids) => {
      const byAlert = await deliveriesOfAlerts(context.db, ids);
      return ids.map((id) => byAlert.get(id) ?? []);
    });
    deliveryLoaders.set(context.loaders, loader);
  }
  return loader;
}

const AlertRef = builder.objectRef<AlertView>('Alert').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    ruleId: t.exposeID('ruleId'),
    rule: t.field({ type: AlertRuleRef, nullable: true, resolve: async (alert, _args, context) => (await getAlertRule(context.db, alert.ruleId)) ?? null }),
    fingerprint: t.exposeString('fingerprint'),
    labels: t.expose('labels', { type: 'JSON' }),
    annotations: t.expose('annotations', { type: 'JSON' }),
    state: t.expose('state', { type: AlertStateEnum }),
    silenced: t.exposeBoolean('silenced', { description: 'A silence covers it now: its transitions send no webhook.' }),
    activeSince: t.expose('activeSince', { type: 'DateTime', nullable: true, description: 'Since when the condition holds (PENDING, FIRING).' }),
    startsAt: t.expose('startsAt', { type: 'DateTime', nullable: true, description: 'When it last fired.' }),
    endsAt: t.expose('endsAt', { type: 'DateTime', nullable: true, description: 'When it last resolved.' }),
    lastEvaluatedAt: t.expose('lastEvaluatedAt', { type: 'DateTime' }),
    deliveries: t.field({
      type: [WebhookDeliveryRef],
      description: 'Its webhook deliveries, oldest first.',
      resolve: (alert, _args, context) => deliveriesLoader(context).load(alert.id),
    }),
  }),
});

builder.queryFields((t) => ({
  alerts: t.field({
    type: [AlertRef],
    description: 'Alerts, firing first. Filter by state and/or rule.',
    args: { state: t.arg({ type: AlertStateEnum }), ruleId: t.arg.id() },
    resolve: (_root, args, context) => listAlerts(context.db, args),
  }),
  webhookDeliveries: t.field({
    type: [WebhookDeliveryRef],
    description: 'Webhook deliveries, newest first.',
    args: { status: t.arg({ type: DeliveryStatusEnum }), ruleId: t.arg.id(), first: t.arg.int({ description: '1 to 1000.', defaultValue: 100 }) },
    resolve: (_root, args, context) => listDeliveries(context.db, args),
  }),
}));

const AlertChangeRef = builder.objectRef<AlertChange>('AlertChange').implement({
  fields: (t) => ({
    eventId: t.exposeID('eventId', { description: 'Pass as `after` to resume from here.' }),
    alertId: t.exposeID('alertId'),
    ruleId: t.exposeID('ruleId'),
    ruleName: t.exposeString('ruleName'),
    kind: t.exposeString('kind'),
    status: t.expose('status', { type: AlertStatusEnum }),
    fingerprint: t.exposeString('fingerprint'),
    labels: t.expose('labels', { type: 'JSON' }),
    annotations: t.expose('annotations', { type: 'JSON' }),
    startsAt: t.exposeString('startsAt'),
    endsAt: t.exposeString('endsAt', { nullable: true }),
    silenced: t.exposeBoolean('silenced'),
    timestamp: t.expose('timestamp', { type: 'DateTime' }),
  }),
});

builder.subscriptionFields((t) => ({
  alertChanged: t.field({
    type: AlertChangeRef,
    description: 'Alerts firing and resolving (of one rule, or all). With `after`, replays first.',
    args: { ruleId: t.arg.id(), after: t.arg.id() },
    subscribe: (_root, args, context) => watchAlertChanges(context.db, context.feed, args),
    resolve: (change) => change,
  }),
}));
