import { ALERT_RULE_KINDS, type AlertRuleInput } from '@switchboard/contracts';
import {
  createAlertRule,
  deleteAlertRule,
  getAlertRule,
  listAlertRules,
  updateAlertRule,
  type AlertRule,
  type WebhookReceiver,
} from '../../registry/alerts/index.js';
import { builder } from '../builder.js';
import { ServiceStateEnum } from './service-state.js';

export const AlertRuleKindEnum = builder.enumType('AlertRuleKind', {
  values: {
    NO_PASSING: { description: 'No passing instance of `service` (none registered counts) for `for`.' },
    FEWER_PASSING: { description: 'Fewer than `minPassing` passing instances of `service` for `for`.' },
    FLAPPING: { description: 'An instance of `service` with at least `transitions` health changes within `window`.' },
    CIRCUIT_OPEN: { description: 'A circuit breaker of an instance of `service` not closed (OPEN or HALF_OPEN) for `for`.' },
    CONFIG_CHANGED: {
      description: 'A configuration key under `keyPrefix` (in `environment`, if given) changed; resolves after `hold` without another change.',
    },
    EVENT_SEEN: { description: 'An event of `eventType` ("x.y", or "x.*") was appended; resolves after `hold` without another.' },
    SERVICE_STATE: { description: 'A service (`service`, or any) is in one of `states` (as serviceStates judges it over `window`, default 5m) for `for`.' },
  } satisfies Record<(typeof ALERT_RULE_KINDS)[number], { description: string }>,
});

const WebhookReceiverRef = builder.objectRef<WebhookReceiver>('WebhookReceiver').implement({
  description: 'Where a rule POSTs its transitions. The secret is never shown.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The payload\'s "receiver".' }),
    url: t.exposeString('url'),
    hasSecret: t.exposeBoolean('hasSecret', { description: 'Payloads are signed (X-Switchboard-Signature).' }),
  }),
});

export const AlertRuleRef = builder.objectRef<AlertRule>('AlertRule').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: "Also the alerts' `alertname` label." }),
    kind: t.expose('kind', { type: AlertRuleKindEnum }),
    service: t.exposeString('service', { nullable: true }),
    minPassing: t.exposeInt('minPassing', { nullable: true }),
    for: t.expose('forMs', { type: 'Duration', nullable: true, description: 'How long the condition must hold before the alert fires.' }),
    transitions: t.exposeInt('transitions', { nullable: true }),
    window: t.expose('windowMs', { type: 'Duration', nullable: true }),
    keyPrefix: t.exposeString('keyPrefix', { nullable: true }),
    environment: t.exposeString('environment', { nullable: true }),
    eventType: t.exposeString('eventType', { nullable: true }),
    hold: t.expose('holdMs', {
      type: 'Duration',
      nullable: true,
      description: 'Event kinds: firing lasts this long after the last matching event (default 5m).',
    }),
    states: t.expose('states', { type: [ServiceStateEnum], nullable: true, description: 'SERVICE_STATE: the states that fire it.' }),
    labels: t.expose('labels', { type: 'JSON', description: 'Added to every alert of the rule.' }),
    annotations: t.expose('annotations', { type: 'JSON' }),
    receivers: t.expose('receivers', { type: [WebhookReceiverRef] }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const WebhookReceiverInput = builder.inputType('WebhookReceiverInput', {
  fields: (t) => ({
    name: t.string({ description: 'Default: "webhook-<n>".' }),
    url: t.string({
      required: true,
      description:
        'http(s) URL inside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS (when set); never a loopback, link-local (cloud metadata) or unspecified address, unless SWITCHBOARD_WEBHOOK_ALLOW_LOCAL=true.',
    }),
    secret: t.string({ description: 'HMAC-SHA256 key, 16 to 256 characters. On update, omit it to keep the stored one for this URL.' }),
  }),
});

const AlertRuleInputRef = builder.inputType('AlertRuleInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: AlertRuleKindEnum, required: true }),
    service: t.string(),
    minPassing: t.int(),
    for: t.field({ type: 'Duration' }),
    transitions: t.int(),
    window: t.field({ type: 'Duration' }),
    keyPrefix: t.string(),
    environment: t.string(),
    eventType: t.string(),
    hold: t.field({ type: 'Duration' }),
    states: t.field({ type: [ServiceStateEnum] }),
    labels: t.field({ type: 'JSON', description: 'Label name to string.' }),
    annotations: t.field({ type: 'JSON', description: 'Name to string (summary, description, runbook_url…).' }),
    receivers: t.field({ type: [WebhookReceiverInput] }),
  }),
});

type RuleArgs = {
  for?: number | null | undefined;
  window?: number | null | undefined;
  hold?: number | null | undefined;
  labels?: unknown;
  annotations?: unknown;
} & Omit<AlertRuleInput, 'forMs' | 'windowMs' | 'holdMs' | 'labels' | 'annotations'>;

/** The API's names (for, window, hold) to the domain's. */
function toRuleInput({ for: forMs, window: windowMs, hold: holdMs, ...rest }: RuleArgs): AlertRuleInput {
  return { ...rest, forMs, windowMs, holdMs } as AlertRuleInput;
}

builder.queryFields((t) => ({
  alertRules: t.field({
    type: [AlertRuleRef],
    description: 'Every alert rule, by name.',
    resolve: (_root, _args, context) => listAlertRules(context.db),
  }),
  alertRule: t.field({
    type: AlertRuleRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => (await getAlertRule(context.db, args.id)) ?? null,
  }),
}));

builder.mutationFields((t) => ({
  createAlertRule: t.field({
    type: AlertRuleRef,
    description:
      'Creates a rule; it is evaluated at once. A taken name is CONFLICT; a receiver the registry may not target FORBIDDEN, and so is a rule on services or keys the token does not own (a rule watching neither needs ADMIN).',
    args: { input: t.arg({ type: AlertRuleInputRef, required: true }) },
    resolve: (_root, { input }, context) =>
      createAlertRule(context.db, toRuleInput(input as RuleArgs), context.settings.health.policy.targets, context.principal),
  }),
  updateAlertRule: t.field({
    type: AlertRuleRef,
    description: "Replaces a rule's definition. NOT_FOUND when unknown.",
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: AlertRuleInputRef, required: true }) },
    resolve: (_root, { id, input }, context) =>
      updateAlertRule(context.db, id, toRuleInput(input as RuleArgs), context.settings.health.policy.targets, context.principal),
  }),
  deleteAlertRule: t.boolean({
    description: 'Deletes a rule, its alerts (firing ones are recorded as resolved, without a webhook), silences and deliveries. NOT_FOUND when unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await deleteAlertRule(context.db, args.id, context.principal);
      return true;
    },
  }),
}));
