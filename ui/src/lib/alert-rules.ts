import type { AlertRuleKind } from '../generated/graphql';

/** The rule fields a kind uses, in the order the form asks for them. */
export type RuleField = 'service' | 'minPassing' | 'transitions' | 'window' | 'for' | 'keyPrefix' | 'environment' | 'eventType' | 'hold' | 'states';

export const RULE_KINDS: { kind: AlertRuleKind; label: string; fields: RuleField[] }[] = [
  { kind: 'NO_PASSING', label: 'No passing instance', fields: ['service', 'for'] },
  { kind: 'FEWER_PASSING', label: 'Fewer passing instances than', fields: ['service', 'minPassing', 'for'] },
  { kind: 'FLAPPING', label: 'An instance flapping', fields: ['service', 'transitions', 'window'] },
  { kind: 'CIRCUIT_OPEN', label: 'A circuit not closed', fields: ['service', 'for'] },
  { kind: 'SERVICE_STATE', label: 'A service in a state', fields: ['service', 'states', 'window', 'for'] },
  { kind: 'CONFIG_CHANGED', label: 'A configuration key changed', fields: ['keyPrefix', 'environment', 'hold'] },
  { kind: 'EVENT_SEEN', label: 'An event seen', fields: ['eventType', 'hold'] },
];

export const FIELD_LABELS: Record<RuleField, { label: string; placeholder: string }> = {
  service: { label: 'Service', placeholder: 'payments' },
  minPassing: { label: 'At least passing', placeholder: '2' },
  transitions: { label: 'Transitions', placeholder: '3' },
  window: { label: 'Within', placeholder: '5m' },
  for: { label: 'For', placeholder: '1m' },
  keyPrefix: { label: 'Key prefix', placeholder: 'payments.' },
  environment: { label: 'Environment', placeholder: 'production' },
  eventType: { label: 'Event type', placeholder: 'deploy.*' },
  hold: { label: 'Resolve after', placeholder: '5m' },
  states: { label: 'States', placeholder: 'HEALING, DOWN' },
};

interface RuleParameters {
  kind: AlertRuleKind;
  service?: string | null;
  environment?: string | null;
  eventType?: string | null;
  keyPrefix?: string | null;
  minPassing?: number | null;
  transitions?: number | null;
  window?: string | null;
  hold?: string | null;
  for?: string | null;
  states?: readonly string[] | null;
}

/** A rule's condition as a sentence, e.g. "No passing instance of payments for 1m". */
export function describeRule(rule: RuleParameters): string {
  const forPart = rule.for ? ` for ${rule.for}` : '';
  const service = rule.service ?? 'any service';
  switch (rule.kind) {
    case 'NO_PASSING':
      return `No passing instance of ${service}${forPart}`;
    case 'FEWER_PASSING':
      return `Fewer than ${rule.minPassing ?? '?'} passing instances of ${service}${forPart}`;
    case 'FLAPPING':
      return `An instance of ${service} with ${rule.transitions ?? '?'} or more health changes within ${rule.window ?? '?'}`;
    case 'CIRCUIT_OPEN':
      return `A circuit breaker of ${service} not closed${forPart}`;
    case 'SERVICE_STATE':
      return `${rule.service ?? 'Any service'} ${(rule.states ?? []).map((state) => state.toLowerCase()).join(' or ')}${forPart} (judged over ${rule.window ?? '5m'})`;
    case 'CONFIG_CHANGED':
      return `A configuration key under "${rule.keyPrefix ?? ''}"${rule.environment ? ` in ${rule.environment}` : ''} changed; resolves after ${rule.hold ?? '5m'} without another change`;
    case 'EVENT_SEEN':
      return `An event of type ${rule.eventType ?? '?'} was seen; resolves after ${rule.hold ?? '5m'} without another`;
    default:
      return rule.kind;
  }
}
