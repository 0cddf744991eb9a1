import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { safeText } from '../validation.js';

/**
 * Alert rules, silences and their webhook receivers: what a client may send, checked the same
 * way on every server. Durations are milliseconds here (the API parses "5m" before).
 */
export const ALERT_RULE_KINDS = ['NO_PASSING', 'FEWER_PASSING', 'FLAPPING', 'CIRCUIT_OPEN', 'CONFIG_CHANGED', 'EVENT_SEEN', 'SERVICE_STATE'] as const;
export type AlertRuleKindValue = (typeof ALERT_RULE_KINDS)[number];

export type AlertStateValue = 'PENDING' | 'FIRING' | 'RESOLVED';
/** Service states as src/registry/states judges them (SERVICE_STATE rules name some). */
export const SERVICE_STATE_VALUES = ['ACTIVE', 'SCALING', 'HEALING', 'DOWN'] as const;
export type WebhookDeliveryStatusValue = 'PENDING' | 'DELIVERED' | 'FAILED';

const DAY_MS = 86_400_000;

export const AlertLimits = {
  nameLength: 128,
  serviceLength: 128,
  /** `for`: at most a week (longer waits are better served by a different tool). */
  maxForMs: 7 * DAY_MS,
  /** Event-kind alerts stay firing this long after the last matching event unless told otherwise. */
  defaultHoldMs: 5 * 60_000,
  minHoldMs: 100,
  maxHoldMs: 7 * DAY_MS,
  /** FLAPPING: the transition history is bounded (SWITCHBOARD_HEALTH_HISTORY per instance). */
  maxWindowMs: DAY_MS,
  minWindowMs: 1_000,
  maxTransitions: 1_000,
  maxMinPassing: 100_000,
  receivers: 10,
  urlLength: 2048,
  minSecretLength: 16,
  maxSecretLength: 256,
  labels: 32,
  labelNameLength: 64,
  labelValueLength: 256,
  annotationValueLength: 4096,
  commentLength: 1024,
  maxSilenceMs: 365 * DAY_MS,
} as const;

/** http(s), a host (and port), no credentials, no spaces; the server parses it fully. */
const WEBHOOK_URL = /^https?:\/\/[^\s/?#@]+([/?#]\S*)?$/i;

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const duration = (min: number, max: number) =>
  z
    .number()
    .min(min, `must be at least ${formatDuration(min)}`)
    .max(max, `must be at most ${formatDuration(max)}`);

/** A map of label names (Prometheus style: letters, digits, "_") to short strings. */
export const labelMap = (valueLength: number) =>
  z
    .record(z.string(), safeText(valueLength))
    .nullish()
    .transform((value) => ({ ...(value ?? {}) }))
    .superRefine((value, ctx) => {
      const names = Object.keys(value);
      if (names.length > AlertLimits.labels) ctx.addIssue({ code: 'custom', message: `must have at most ${AlertLimits.labels} entries` });
      for (const name of names) {
        if (name.length > AlertLimits.labelNameLength || !LABEL_NAME.test(name)) {
          ctx.addIssue({ code: 'custom', message: `"${name.slice(0, 64)}" is not a label name (letters, digits and "_", not starting with a digit)` });
        }
      }
    });

export const webhookReceiverSchema = z.object({
  name: safeText(AlertLimits.nameLength).min(1, 'must not be empty').nullish(),
  url: z
    .string()
    .max(AlertLimits.urlLength, `must be at most ${AlertLimits.urlLength} characters`)
    .regex(WEBHOOK_URL, 'must be an http:// or https:// URL without credentials'),
  /** Absent on an update: the receiver with the same URL keeps its secret. */
  secret: z
    .string()
    .min(AlertLimits.minSecretLength, `must be at least ${AlertLimits.minSecretLength} characters`)
    .max(AlertLimits.maxSecretLength, `must be at most ${AlertLimits.maxSecretLength} characters`)
    .nullish(),
});
export type WebhookReceiverInput = z.input<typeof webhookReceiverSchema>;

/** Which optional fields each kind needs (required) and may take. */
const KIND_FIELDS: Record<AlertRuleKindValue, { required: readonly string[]; allowed: readonly string[] }> = {
  NO_PASSING: { required: ['service'], allowed: ['service', 'forMs'] },
  FEWER_PASSING: { required: ['service', 'minPassing'], allowed: ['service', 'minPassing', 'forMs'] },
  FLAPPING: { required: ['service', 'transitions', 'windowMs'], allowed: ['service', 'transitions', 'windowMs'] },
  CIRCUIT_OPEN: { required: ['service'], allowed: ['service', 'forMs'] },
  CONFIG_CHANGED: { required: ['keyPrefix'], allowed: ['keyPrefix', 'environment', 'holdMs'] },
  EVENT_SEEN: { required: ['eventType'], allowed: ['eventType', 'holdMs'] },
  SERVICE_STATE: { required: ['states'], allowed: ['service', 'states', 'windowMs', 'forMs'] },
};
const KIND_SPECIFIC = ['service', 'minPassing', 'forMs', 'transitions', 'windowMs', 'keyPrefix', 'environment', 'eventType', 'holdMs', 'states'] as const;

export const alertRuleSchema = z
  .object({
    name: safeText(AlertLimits.nameLength).min(1, 'must not be empty'),
    kind: z.enum(ALERT_RULE_KINDS),
    service: safeText(AlertLimits.serviceLength).min(1, 'must not be empty').nullish(),
    minPassing: z.number().int().min(1, 'must be at least 1').max(AlertLimits.maxMinPassing).nullish(),
    forMs: duration(0, AlertLimits.maxForMs).nullish(),
    transitions: z.number().int().min(2, 'must be at least 2').max(AlertLimits.maxTransitions).nullish(),
    windowMs: duration(AlertLimits.minWindowMs, AlertLimits.maxWindowMs).nullish(),
    keyPrefix: z
      .string()
      .max(256)
      .regex(/^[A-Za-z0-9_.-]*$/, 'must be a key prefix (letters, digits, ".", "_" and "-")')
      .nullish(),
    environment: z
      .string()
      .max(63)
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be an environment name')
      .nullish(),
    eventType: z
      .string()
      .max(128)
      .regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?$/, 'must be an event type like "deploy.finished", or a prefix like "deploy.*"')
      .nullish(),
    holdMs: duration(AlertLimits.minHoldMs, AlertLimits.maxHoldMs).nullish(),
    states: z
      .array(z.enum(SERVICE_STATE_VALUES))
      .min(1, 'must name at least one state')
      .max(SERVICE_STATE_VALUES.length)
      .transform((states) => [...new Set(states)])
      .nullish(),
    labels: labelMap(AlertLimits.labelValueLength),
    annotations: labelMap(AlertLimits.annotationValueLength),
    receivers: z
      .array(webhookReceiverSchema)
      .max(AlertLimits.receivers, `must have at most ${AlertLimits.receivers} entries`)
      .nullish()
      .transform((value) => value ?? []),
  })
  .superRefine((rule, ctx) => {
    const fields = KIND_FIELDS[rule.kind];
    for (const field of fields.required) {
      if (rule[field as keyof typeof rule] == null) ctx.addIssue({ code: 'custom', path: [field], message: `is required for ${rule.kind} rules` });
    }
    for (const field of KIND_SPECIFIC) {
      if (!fields.allowed.includes(field) && rule[field] != null)
        ctx.addIssue({ code: 'custom', path: [field], message: `does not apply to ${rule.kind} rules` });
    }
    const urls = rule.receivers.map((receiver) => receiver.url);
    if (new Set(urls).size !== urls.length) ctx.addIssue({ code: 'custom', path: ['receivers'], message: 'must not name the same URL twice' });
  });
export type AlertRuleInput = z.input<typeof alertRuleSchema>;
export type AlertRuleDefinition = z.output<typeof alertRuleSchema>;

export const silenceSchema = z
  .object({
    ruleId: z.string().min(1).max(64).nullish(),
    /** Label equality matchers: every one must hold for an alert to be silenced. */
    matchers: labelMap(AlertLimits.labelValueLength),
    until: z.date().nullish(),
    durationMs: z.number().nullish(),
    comment: safeText(AlertLimits.commentLength, 'line-breaks').min(1, 'must say why'),
  })
  .superRefine((silence, ctx) => {
    if (silence.ruleId == null && Object.keys(silence.matchers).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['matchers'], message: 'or ruleId is required: a silence must say what it silences' });
    }
    if ((silence.until == null) === (silence.durationMs == null)) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'or duration is required (exactly one of them)' });
    }
    if (silence.durationMs != null && (silence.durationMs <= 0 || silence.durationMs > AlertLimits.maxSilenceMs)) {
      ctx.addIssue({ code: 'custom', path: ['duration'], message: `must be above 0 and at most ${formatDuration(AlertLimits.maxSilenceMs)}` });
    }
  });
export type SilenceInput = z.input<typeof silenceSchema>;
