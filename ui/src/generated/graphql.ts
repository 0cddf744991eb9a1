/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type AlertRuleInput = {
  /** Name to string (summary, description, runbook_url…). */
  annotations?: unknown;
  environment?: string | null | undefined;
  eventType?: string | null | undefined;
  for?: string | null | undefined;
  hold?: string | null | undefined;
  keyPrefix?: string | null | undefined;
  kind: AlertRuleKind;
  /** Label name to string. */
  labels?: unknown;
  minPassing?: number | null | undefined;
  name: string;
  receivers?: Array<WebhookReceiverInput> | null | undefined;
  service?: string | null | undefined;
  states?: Array<ServiceState> | null | undefined;
  transitions?: number | null | undefined;
  window?: string | null | undefined;
};

export type AlertRuleKind =
  /** A circuit breaker of an instance of `service` not closed (OPEN or HALF_OPEN) for `for`. */
  | 'CIRCUIT_OPEN'
  /** A configuration key under `keyPrefix` (in `environment`, if given) changed; resolves after `hold` without another change. */
  | 'CONFIG_CHANGED'
  /** An event of `eventType` ("x.y", or "x.*") was appended; resolves after `hold` without another. */
  | 'EVENT_SEEN'
  /** Fewer than `minPassing` passing instances of `service` for `for`. */
  | 'FEWER_PASSING'
  /** An instance of `service` with at least `transitions` health changes within `window`. */
  | 'FLAPPING'
  /** No passing instance of `service` (none registered counts) for `for`. */
  | 'NO_PASSING'
  /** A service (`service`, or any) is in one of `states` (as serviceStates judges it over `window`, default 5m) for `for`. */
  | 'SERVICE_STATE';

export type AlertState =
  /** Fired (alert.firing); webhooks sent unless silenced. */
  | 'FIRING'
  /** The condition holds, not yet for the rule's `for`. */
  | 'PENDING'
  /** Fired, then the condition stopped holding (alert.resolved). */
  | 'RESOLVED';

/** As in the webhook payload. */
export type AlertStatus =
  | 'firing'
  | 'resolved';

export type CircuitState =
  | 'CLOSED'
  | 'HALF_OPEN'
  | 'OPEN';

export type ComponentType =
  | 'FLOW'
  | 'MIDDLEWARE'
  | 'PLUGIN'
  | 'STEP'
  | 'TRANSFORMER'
  | 'VALIDATOR';

export type ExclusionReason =
  /** Its breaker is half-open and has no probe to give right now. */
  | 'CIRCUIT_HALF_OPEN_BUSY'
  /** Its circuit breaker is open (cooling down). */
  | 'CIRCUIT_OPEN'
  /** A health check is critical. */
  | 'CRITICAL'
  /** Weight 0 while others in its tier have weight. */
  | 'DRAINED'
  /** Available, but a more preferred priority tier had an available instance. */
  | 'LOWER_PRIORITY_TIER'
  /** The instance is in maintenance mode. */
  | 'MAINTENANCE'
  /** It lacks one of the requested tags. */
  | 'TAG_MISMATCH'
  /** Its TTL lease lapsed without a heartbeat. */
  | 'TTL_EXPIRED'
  /** Its version is outside the requested range (an instance registered without a version is in none). */
  | 'VERSION_MISMATCH'
  /** A health check warns, and allowWarning was not set. */
  | 'WARNING';

export type HealthCheckKind =
  | 'GRPC'
  | 'HTTP'
  | 'SCRIPT'
  | 'TCP'
  | 'TTL';

export type HealthStatusType =
  | 'CRITICAL'
  | 'PASSING'
  | 'UNKNOWN'
  | 'WARNING';

export type LoadBalancingStrategy =
  | 'CONSISTENT_HASH'
  | 'PRIORITY'
  | 'RANDOM'
  | 'ROUND_ROBIN'
  | 'WEIGHTED';

export type ServiceChangeKind =
  | 'DEREGISTERED'
  | 'EXPIRED'
  | 'REAPED'
  | 'REGISTERED'
  | 'UPDATED';

/** What a service name is doing, judged in the order DOWN, HEALING, SCALING, ACTIVE (the first that holds). */
export type ServiceState =
  /** Passing instances, none critical, and no change to their number within the window. */
  | 'ACTIVE'
  /** No passing instance (or none at all while its policy asks for at least one). */
  | 'DOWN'
  /** Some instance is critical, or was critical within the window, or was removed within it for staying critical (deregisterCriticalServiceAfter). */
  | 'HEALING'
  /** Its instance count changed within the window, or is outside the service's minInstances/maxInstances policy. */
  | 'SCALING';

export type SilenceInput = {
  comment: string;
  /** How long it lasts from now (or give until). */
  duration?: string | null | undefined;
  /** Label name to value, e.g. {"service": "payments"}. */
  matchers?: unknown;
  /** Silence this rule's alerts (with matchers: only those matching). */
  ruleId?: string | number | null | undefined;
  /** When it ends (or give duration). */
  until?: string | null | undefined;
};

export type WebhookDeliveryStatus =
  /** The receiver answered 2xx. */
  | 'DELIVERED'
  /** Attempts spent, or a refusal retrying cannot fix (4xx, a target the registry may not reach). */
  | 'FAILED'
  /** Not sent yet, or to be retried at nextAttemptAt. */
  | 'PENDING';

export type WebhookReceiverInput = {
  /** Default: "webhook-<n>". */
  name?: string | null | undefined;
  /** HMAC-SHA256 key, 16 to 256 characters. On update, omit it to keep the stored one for this URL. */
  secret?: string | null | undefined;
  /** http(s) URL inside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS (when set); never a loopback, link-local (cloud metadata) or unspecified address, unless SWITCHBOARD_WEBHOOK_ALLOW_LOCAL=true. */
  url: string;
};

export type DashboardAlertsPageQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardAlertsPageQuery = { latestEventId: string, alerts: Array<{ id: string, state: AlertState, labels: unknown, annotations: unknown, startsAt: string | null, endsAt: string | null, activeSince: string | null, silenced: boolean, rule: { id: string, name: string } | null, deliveries: Array<{ id: string, receiver: string, url: string, alertStatus: AlertStatus, status: WebhookDeliveryStatus, attempts: number, lastStatusCode: number | null, lastError: string | null, nextAttemptAt: string, deliveredAt: string | null }> }>, alertRules: Array<{ id: string, name: string, kind: AlertRuleKind, service: string | null, environment: string | null, eventType: string | null, keyPrefix: string | null, minPassing: number | null, transitions: number | null, window: string | null, hold: string | null, for: string | null, states: Array<ServiceState> | null, receivers: Array<{ name: string, url: string, hasSecret: boolean }> }>, silences: Array<{ id: string, ruleId: string | null, matchers: unknown, comment: string, createdBy: string | null, startsAt: string, endsAt: string }> };

export type DashboardCreateAlertRuleMutationVariables = Exact<{
  input: AlertRuleInput;
}>;


export type DashboardCreateAlertRuleMutation = { createAlertRule: { id: string, name: string } };

export type DashboardDeleteAlertRuleMutationVariables = Exact<{
  id: string | number;
}>;


export type DashboardDeleteAlertRuleMutation = { deleteAlertRule: boolean };

export type DashboardCreateSilenceMutationVariables = Exact<{
  input: SilenceInput;
}>;


export type DashboardCreateSilenceMutation = { createSilence: { id: string, endsAt: string } };

export type DashboardExpireSilenceMutationVariables = Exact<{
  id: string | number;
}>;


export type DashboardExpireSilenceMutation = { expireSilence: { id: string } };

export type DashboardFiringAlertsQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardFiringAlertsQuery = { latestEventId: string, alerts: Array<{ id: string, state: AlertState, labels: unknown, annotations: unknown, startsAt: string | null, silenced: boolean, rule: { id: string, name: string, kind: AlertRuleKind, service: string | null } | null }> };

export type DashboardAlertChangedSubscriptionVariables = Exact<{
  after?: string | number | null | undefined;
}>;


export type DashboardAlertChangedSubscription = { alertChanged: { eventId: string, alertId: string, status: AlertStatus } };

export type DashboardComponentsQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardComponentsQuery = { latestEventId: string, components: Array<{ id: string, type: ComponentType, name: string, version: string, description: string | null, updatedAt: string, dependencies: Array<{ spec: string }>, resolvedDependencies: Array<{ id: string }>, missingDependencies: Array<{ name: string, range: string, availableVersions: Array<string> }>, dependents: Array<{ id: string }> }> };

export type DashboardDependencyOrderQueryVariables = Exact<{
  ids: Array<string | number> | string | number;
}>;


export type DashboardDependencyOrderQuery = { dependencyOrder: Array<{ id: string }> };

export type DashboardConfigEntryFragment = { key: string, environment: string | null, value: unknown, version: number, updatedAt: string, inherited: boolean, secret: boolean, redacted: boolean };

export type DashboardConfigsQueryVariables = Exact<{
  prefix?: string | null | undefined;
  environment?: string | null | undefined;
}>;


export type DashboardConfigsQuery = { latestEventId: string, configs: Array<{ key: string, environment: string | null, value: unknown, version: number, updatedAt: string, inherited: boolean, secret: boolean, redacted: boolean }> };

export type DashboardConfigKeyQueryVariables = Exact<{
  key: string;
  environment?: string | null | undefined;
}>;


export type DashboardConfigKeyQuery = { latestEventId: string, config: { key: string, environment: string | null, value: unknown, version: number, updatedAt: string, inherited: boolean, secret: boolean, redacted: boolean } | null };

export type DashboardConfigHistoryQueryVariables = Exact<{
  key: string;
  environment?: string | null | undefined;
}>;


export type DashboardConfigHistoryQuery = { configHistory: Array<{ key: string, environment: string | null, version: number, value: unknown, deleted: boolean, secret: boolean, redacted: boolean, changedAt: string }> };

export type DashboardSetConfigMutationVariables = Exact<{
  key: string;
  value: unknown;
  environment?: string | null | undefined;
  expectedVersion?: number | null | undefined;
}>;


export type DashboardSetConfigMutation = { setConfig: { key: string, environment: string | null, value: unknown, version: number, updatedAt: string, inherited: boolean, secret: boolean, redacted: boolean } };

export type DashboardRollbackConfigMutationVariables = Exact<{
  key: string;
  environment?: string | null | undefined;
  version: number;
  expectedVersion?: number | null | undefined;
}>;


export type DashboardRollbackConfigMutation = { rollbackConfig: { key: string, environment: string | null, value: unknown, version: number, updatedAt: string, inherited: boolean, secret: boolean, redacted: boolean } };

export type DashboardConfigPrefixChangedSubscriptionVariables = Exact<{
  prefix: string;
  environment?: string | null | undefined;
  after?: string | number | null | undefined;
}>;


export type DashboardConfigPrefixChangedSubscription = { configPrefixChanged: { eventId: string, key: string, version: number } };

export type DashboardConfigChangedSubscriptionVariables = Exact<{
  key: string;
  environment?: string | null | undefined;
  after?: string | number | null | undefined;
}>;


export type DashboardConfigChangedSubscription = { configChanged: { eventId: string, version: number } };

export type DashboardEventFragment = { id: string, type: string, source: string, data: unknown, timestamp: string, actor: { id: string, name: string } | null };

export type DashboardEventsQueryVariables = Exact<{
  types?: Array<string> | string | null | undefined;
  after?: string | number | null | undefined;
}>;


export type DashboardEventsQuery = { events: Array<{ id: string, type: string, source: string, data: unknown, timestamp: string, actor: { id: string, name: string } | null }> };

export type DashboardLatestEventIdQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardLatestEventIdQuery = { latestEventId: string };

export type DashboardOnEventsSubscriptionVariables = Exact<{
  types?: Array<string> | string | null | undefined;
  after?: string | number | null | undefined;
}>;


export type DashboardOnEventsSubscription = { events: { id: string, type: string, source: string, data: unknown, timestamp: string, actor: { id: string, name: string } | null } };

export type DashboardStateReportFragment = { computedAt: string, window: string, counts: { active: number, scaling: number, healing: number, down: number }, services: Array<{ name: string, state: ServiceState, reasons: Array<string>, instances: number, passing: number, warning: number, critical: number, minInstances: number | null, maxInstances: number | null, until: string | null }> };

export type DashboardServiceStatesQueryVariables = Exact<{
  prefix?: string | null | undefined;
}>;


export type DashboardServiceStatesQuery = { serviceStates: { computedAt: string, window: string, counts: { active: number, scaling: number, healing: number, down: number }, services: Array<{ name: string, state: ServiceState, reasons: Array<string>, instances: number, passing: number, warning: number, critical: number, minInstances: number | null, maxInstances: number | null, until: string | null }> } };

export type DashboardServiceStatesChangedSubscriptionVariables = Exact<{
  prefix?: string | null | undefined;
}>;


export type DashboardServiceStatesChangedSubscription = { serviceStatesChanged: { computedAt: string, window: string, counts: { active: number, scaling: number, healing: number, down: number }, services: Array<{ name: string, state: ServiceState, reasons: Array<string>, instances: number, passing: number, warning: number, critical: number, minInstances: number | null, maxInstances: number | null, until: string | null }> } };

export type DashboardRegistryInstanceFragment = { id: string, address: string, port: number | null, version: string | null, metadata: unknown, registeredAt: string, health: { status: HealthStatusType, output: string } };

export type DashboardRegistryHealthQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardRegistryHealthQuery = { registryHealth: { database: { reachable: boolean, latency: string | null, version: string | null }, servers: Array<{ id: string, address: string, port: number | null, version: string | null, metadata: unknown, registeredAt: string, health: { status: HealthStatusType, output: string } }>, workers: Array<{ id: string, address: string, port: number | null, version: string | null, metadata: unknown, registeredAt: string, health: { status: HealthStatusType, output: string } }> } };

export type DashboardCheckFragment = { id: string, name: string, kind: HealthCheckKind, http: string | null, tcp: string | null, grpc: string | null, script: string | null, ttl: string | null, interval: string | null, status: HealthStatusType, output: string, lastCheck: string | null, checkCount: number, failureCount: number, statusChangedAt: string, deregisterCriticalServiceAfter: string | null };

export type DashboardInstanceFragment = { id: string, name: string, version: string | null, address: string, port: number | null, tags: Array<string>, metadata: unknown, weight: number, priority: number, registeredAt: string, updatedAt: string, lastHeartbeatAt: string | null, expiresAt: string | null, source: string | null, maintenance: { reason: string | null, since: string } | null, health: { status: HealthStatusType, output: string, lastCheck: string | null }, checks: Array<{ id: string, name: string, kind: HealthCheckKind, http: string | null, tcp: string | null, grpc: string | null, script: string | null, ttl: string | null, interval: string | null, status: HealthStatusType, output: string, lastCheck: string | null, checkCount: number, failureCount: number, statusChangedAt: string, deregisterCriticalServiceAfter: string | null }>, circuitBreaker: { state: CircuitState, failures: number, calls: number, openedAt: string | null } };

export type DashboardServiceQueryVariables = Exact<{
  name: string;
}>;


export type DashboardServiceQuery = { latestEventId: string, discoverServices: Array<{ id: string, name: string, version: string | null, address: string, port: number | null, tags: Array<string>, metadata: unknown, weight: number, priority: number, registeredAt: string, updatedAt: string, lastHeartbeatAt: string | null, expiresAt: string | null, source: string | null, maintenance: { reason: string | null, since: string } | null, health: { status: HealthStatusType, output: string, lastCheck: string | null }, checks: Array<{ id: string, name: string, kind: HealthCheckKind, http: string | null, tcp: string | null, grpc: string | null, script: string | null, ttl: string | null, interval: string | null, status: HealthStatusType, output: string, lastCheck: string | null, checkCount: number, failureCount: number, statusChangedAt: string, deregisterCriticalServiceAfter: string | null }>, circuitBreaker: { state: CircuitState, failures: number, calls: number, openedAt: string | null } }> };

export type DashboardSelectionQueryVariables = Exact<{
  name: string;
  strategy?: LoadBalancingStrategy | null | undefined;
  hashKey?: string | null | undefined;
  allowWarning?: boolean | null | undefined;
}>;


export type DashboardSelectionQuery = { selectInstanceExplained: { strategy: LoadBalancingStrategy, tier: number | null, reason: string | null, selected: { id: string } | null, candidates: Array<{ eligible: boolean, exclusions: Array<ExclusionReason>, circuit: CircuitState, priority: number, weight: number, share: number | null, instance: { id: string, address: string, port: number | null } }> } };

export type DashboardHealthHistoryQueryVariables = Exact<{
  id: string | number;
}>;


export type DashboardHealthHistoryQuery = { healthHistory: Array<{ at: string, checkId: string | null, checkName: string | null, from: HealthStatusType | null, to: HealthStatusType | null, output: string, instanceStatus: HealthStatusType }> };

export type DashboardInstancesChangedSubscriptionVariables = Exact<{
  names: Array<string> | string;
  after?: string | number | null | undefined;
}>;


export type DashboardInstancesChangedSubscription = { instancesChanged:
    | { eventId: string, serviceId: string, instanceStatus: HealthStatusType }
    | { eventId: string, serviceId: string, kind: ServiceChangeKind }
   };

export type DashboardCircuitChangedSubscriptionVariables = Exact<{
  name?: string | null | undefined;
  after?: string | number | null | undefined;
}>;


export type DashboardCircuitChangedSubscription = { circuitChanged: { eventId: string, serviceId: string, state: CircuitState } };

export const DashboardConfigEntryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardConfigEntry"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ConfigEntry"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"environment"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"inherited"}},{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"redacted"}}]}}]} as unknown as DocumentNode<DashboardConfigEntryFragment, unknown>;
export const DashboardEventFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Event"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"data"}},{"kind":"Field","name":{"kind":"Name","value":"actor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}}]}}]} as unknown as DocumentNode<DashboardEventFragment, unknown>;
export const DashboardStateReportFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardStateReport"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ServiceStateReport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"computedAt"}},{"kind":"Field","name":{"kind":"Name","value":"window"}},{"kind":"Field","name":{"kind":"Name","value":"counts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"scaling"}},{"kind":"Field","name":{"kind":"Name","value":"healing"}},{"kind":"Field","name":{"kind":"Name","value":"down"}}]}},{"kind":"Field","name":{"kind":"Name","value":"services"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"reasons"}},{"kind":"Field","name":{"kind":"Name","value":"instances"}},{"kind":"Field","name":{"kind":"Name","value":"passing"}},{"kind":"Field","name":{"kind":"Name","value":"warning"}},{"kind":"Field","name":{"kind":"Name","value":"critical"}},{"kind":"Field","name":{"kind":"Name","value":"minInstances"}},{"kind":"Field","name":{"kind":"Name","value":"maxInstances"}},{"kind":"Field","name":{"kind":"Name","value":"until"}}]}}]}}]} as unknown as DocumentNode<DashboardStateReportFragment, unknown>;
export const DashboardRegistryInstanceFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardRegistryInstance"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ServiceInstance"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"port"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"registeredAt"}},{"kind":"Field","name":{"kind":"Name","value":"health"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"output"}}]}}]}}]} as unknown as DocumentNode<DashboardRegistryInstanceFragment, unknown>;
export const DashboardCheckFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardCheck"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"HealthCheck"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"http"}},{"kind":"Field","name":{"kind":"Name","value":"tcp"}},{"kind":"Field","name":{"kind":"Name","value":"grpc"}},{"kind":"Field","name":{"kind":"Name","value":"script"}},{"kind":"Field","name":{"kind":"Name","value":"ttl"}},{"kind":"Field","name":{"kind":"Name","value":"interval"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"output"}},{"kind":"Field","name":{"kind":"Name","value":"lastCheck"}},{"kind":"Field","name":{"kind":"Name","value":"checkCount"}},{"kind":"Field","name":{"kind":"Name","value":"failureCount"}},{"kind":"Field","name":{"kind":"Name","value":"statusChangedAt"}},{"kind":"Field","name":{"kind":"Name","value":"deregisterCriticalServiceAfter"}}]}}]} as unknown as DocumentNode<DashboardCheckFragment, unknown>;
export const DashboardInstanceFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardInstance"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ServiceInstance"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"port"}},{"kind":"Field","name":{"kind":"Name","value":"tags"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"weight"}},{"kind":"Field","name":{"kind":"Name","value":"priority"}},{"kind":"Field","name":{"kind":"Name","value":"registeredAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastHeartbeatAt"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"maintenance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"since"}}]}},{"kind":"Field","name":{"kind":"Name","value":"health"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"output"}},{"kind":"Field","name":{"kind":"Name","value":"lastCheck"}}]}},{"kind":"Field","name":{"kind":"Name","value":"checks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardCheck"}}]}},{"kind":"Field","name":{"kind":"Name","value":"circuitBreaker"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"failures"}},{"kind":"Field","name":{"kind":"Name","value":"calls"}},{"kind":"Field","name":{"kind":"Name","value":"openedAt"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardCheck"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"HealthCheck"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"http"}},{"kind":"Field","name":{"kind":"Name","value":"tcp"}},{"kind":"Field","name":{"kind":"Name","value":"grpc"}},{"kind":"Field","name":{"kind":"Name","value":"script"}},{"kind":"Field","name":{"kind":"Name","value":"ttl"}},{"kind":"Field","name":{"kind":"Name","value":"interval"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"output"}},{"kind":"Field","name":{"kind":"Name","value":"lastCheck"}},{"kind":"Field","name":{"kind":"Name","value":"checkCount"}},{"kind":"Field","name":{"kind":"Name","value":"failureCount"}},{"kind":"Field","name":{"kind":"Name","value":"statusChangedAt"}},{"kind":"Field","name":{"kind":"Name","value":"deregisterCriticalServiceAfter"}}]}}]} as unknown as DocumentNode<DashboardInstanceFragment, unknown>;
export const DashboardAlertsPageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardAlertsPage"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alerts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"labels"}},{"kind":"Field","name":{"kind":"Name","value":"annotations"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"activeSince"}},{"kind":"Field","name":{"kind":"Name","value":"silenced"}},{"kind":"Field","name":{"kind":"Name","value":"rule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"deliveries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"receiver"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"alertStatus"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"lastStatusCode"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}},{"kind":"Field","name":{"kind":"Name","value":"nextAttemptAt"}},{"kind":"Field","name":{"kind":"Name","value":"deliveredAt"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"alertRules"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"environment"}},{"kind":"Field","name":{"kind":"Name","value":"eventType"}},{"kind":"Field","name":{"kind":"Name","value":"keyPrefix"}},{"kind":"Field","name":{"kind":"Name","value":"minPassing"}},{"kind":"Field","name":{"kind":"Name","value":"transitions"}},{"kind":"Field","name":{"kind":"Name","value":"window"}},{"kind":"Field","name":{"kind":"Name","value":"hold"}},{"kind":"Field","name":{"kind":"Name","value":"for"}},{"kind":"Field","name":{"kind":"Name","value":"states"}},{"kind":"Field","name":{"kind":"Name","value":"receivers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"hasSecret"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"silences"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"active"},"value":{"kind":"BooleanValue","value":true}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ruleId"}},{"kind":"Field","name":{"kind":"Name","value":"matchers"}},{"kind":"Field","name":{"kind":"Name","value":"comment"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"latestEventId"}}]}}]} as unknown as DocumentNode<DashboardAlertsPageQuery, DashboardAlertsPageQueryVariables>;
export const DashboardCreateAlertRuleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardCreateAlertRule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"AlertRuleInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createAlertRule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<DashboardCreateAlertRuleMutation, DashboardCreateAlertRuleMutationVariables>;
export const DashboardDeleteAlertRuleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardDeleteAlertRule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteAlertRule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}]}]}}]} as unknown as DocumentNode<DashboardDeleteAlertRuleMutation, DashboardDeleteAlertRuleMutationVariables>;
export const DashboardCreateSilenceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardCreateSilence"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SilenceInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createSilence"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}}]}}]}}]} as unknown as DocumentNode<DashboardCreateSilenceMutation, DashboardCreateSilenceMutationVariables>;
export const DashboardExpireSilenceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardExpireSilence"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"expireSilence"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]} as unknown as DocumentNode<DashboardExpireSilenceMutation, DashboardExpireSilenceMutationVariables>;
export const DashboardFiringAlertsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardFiringAlerts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alerts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"state"},"value":{"kind":"EnumValue","value":"FIRING"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"labels"}},{"kind":"Field","name":{"kind":"Name","value":"annotations"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"silenced"}},{"kind":"Field","name":{"kind":"Name","value":"rule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"service"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"latestEventId"}}]}}]} as unknown as DocumentNode<DashboardFiringAlertsQuery, DashboardFiringAlertsQueryVariables>;
export const DashboardAlertChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardAlertChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alertChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"alertId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<DashboardAlertChangedSubscription, DashboardAlertChangedSubscriptionVariables>;
export const DashboardComponentsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardComponents"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"components"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"dependencies"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"spec"}}]}},{"kind":"Field","name":{"kind":"Name","value":"resolvedDependencies"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}},{"kind":"Field","name":{"kind":"Name","value":"missingDependencies"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"range"}},{"kind":"Field","name":{"kind":"Name","value":"availableVersions"}}]}},{"kind":"Field","name":{"kind":"Name","value":"dependents"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"latestEventId"}}]}}]} as unknown as DocumentNode<DashboardComponentsQuery, DashboardComponentsQueryVariables>;
export const DashboardDependencyOrderDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardDependencyOrder"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"ids"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dependencyOrder"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"ids"},"value":{"kind":"Variable","name":{"kind":"Name","value":"ids"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]} as unknown as DocumentNode<DashboardDependencyOrderQuery, DashboardDependencyOrderQueryVariables>;
export const DashboardConfigsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardConfigs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"environment"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"configs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"prefix"},"value":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}}},{"kind":"Argument","name":{"kind":"Name","value":"environment"},"value":{"kind":"Variable","name":{"kind":"Name","value":"environment"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardConfigEntry"}}]}},{"kind":"Field","name":{"kind":"Name","value":"latestEventId"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardConfigEntry"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ConfigEntry"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"environment"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"inherited"}},{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"redacted"}}]}}]} as unknown as DocumentNode<DashboardConfigsQuery, DashboardConfigsQueryVariables>;
export const DashboardConfigKeyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardConfigKey"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"key"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"environment"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"config"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"key"},"value":{"kind":"Variable","name":{"kind":"Name","value":"key"}}},{"kind":"Argument","name":{"kind":"Name","value":"environment"},"value":{"kind":"Variable","name":{"kind":"Name","value":"environment"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardConfigEntry"}}]}},{"kind":"Field","name":{"kind":"Name","value":"latestEventId"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardConfigEntry"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ConfigEntry"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"environment"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"inherited"}},{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"redacted"}}]}}]} as unknown as DocumentNode<DashboardConfigKeyQuery, DashboardConfigKeyQueryVariables>;
export const DashboardConfigHistoryDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardConfigHistory"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"key"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"environment"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"configHistory"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"key"},"value":{"kind":"Variable","name":{"kind":"Name","value":"key"}}},{"kind":"Argument","name":{"kind":"Name","value":"environment"},"value":{"kind":"Variable","name":{"kind":"Name","value":"environment"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"environment"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"redacted"}},{"kind":"Field","name":{"kind":"Name","value":"changedAt"}}]}}]}}]} as unknown as DocumentNode<DashboardConfigHistoryQuery, DashboardConfigHistoryQueryVariables>;
export const DashboardSetConfigDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardSetConfig"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"key"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"value"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"JSON"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"environment"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"expectedVersion"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"setConfig"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"key"},"value":{"kind":"Variable","name":{"kind":"Name","value":"key"}}},{"kind":"Argument","name":{"kind":"Name","value":"value"},"value":{"kind":"Variable","name":{"kind":"Name","value":"value"}}},{"kind":"Argument","name":{"kind":"Name","value":"environment"},"value":{"kind":"Variable","name":{"kind":"Name","value":"environment"}}},{"kind":"Argument","name":{"kind":"Name","value":"expectedVersion"},"value":{"kind":"Variable","name":{"kind":"Name","value":"expectedVersion"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardConfigEntry"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardConfigEntry"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ConfigEntry"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"environment"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"inherited"}},{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"redacted"}}]}}]} as unknown as DocumentNode<DashboardSetConfigMutation, DashboardSetConfigMutationVariables>;
export const DashboardRollbackConfigDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardRollbackConfig"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"key"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"environment"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"version"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"expectedVersion"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"rollbackConfig"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"key"},"value":{"kind":"Variable","name":{"kind":"Name","value":"key"}}},{"kind":"Argument","name":{"kind":"Name","value":"environment"},"value":{"kind":"Variable","name":{"kind":"Name","value":"environment"}}},{"kind":"Argument","name":{"kind":"Name","value":"version"},"value":{"kind":"Variable","name":{"kind":"Name","value":"version"}}},{"kind":"Argument","name":{"kind":"Name","value":"expectedVersion"},"value":{"kind":"Variable","name":{"kind":"Name","value":"expectedVersion"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardConfigEntry"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardConfigEntry"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ConfigEntry"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"environment"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"inherited"}},{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"redacted"}}]}}]} as unknown as DocumentNode<DashboardRollbackConfigMutation, DashboardRollbackConfigMutationVariables>;
export const DashboardConfigPrefixChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardConfigPrefixChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"environment"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"configPrefixChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"prefix"},"value":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}}},{"kind":"Argument","name":{"kind":"Name","value":"environment"},"value":{"kind":"Variable","name":{"kind":"Name","value":"environment"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}}]} as unknown as DocumentNode<DashboardConfigPrefixChangedSubscription, DashboardConfigPrefixChangedSubscriptionVariables>;
export const DashboardConfigChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardConfigChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"key"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"environment"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"configChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"key"},"value":{"kind":"Variable","name":{"kind":"Name","value":"key"}}},{"kind":"Argument","name":{"kind":"Name","value":"environment"},"value":{"kind":"Variable","name":{"kind":"Name","value":"environment"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}}]} as unknown as DocumentNode<DashboardConfigChangedSubscription, DashboardConfigChangedSubscriptionVariables>;
export const DashboardEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"types"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"events"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"types"},"value":{"kind":"Variable","name":{"kind":"Name","value":"types"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"200"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardEvent"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Event"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"data"}},{"kind":"Field","name":{"kind":"Name","value":"actor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}}]}}]} as unknown as DocumentNode<DashboardEventsQuery, DashboardEventsQueryVariables>;
export const DashboardLatestEventIdDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardLatestEventId"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"latestEventId"}}]}}]} as unknown as DocumentNode<DashboardLatestEventIdQuery, DashboardLatestEventIdQueryVariables>;
export const DashboardOnEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardOnEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"types"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"events"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"types"},"value":{"kind":"Variable","name":{"kind":"Name","value":"types"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardEvent"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Event"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"data"}},{"kind":"Field","name":{"kind":"Name","value":"actor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}}]}}]} as unknown as DocumentNode<DashboardOnEventsSubscription, DashboardOnEventsSubscriptionVariables>;
export const DashboardServiceStatesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardServiceStates"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"serviceStates"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"prefix"},"value":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardStateReport"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardStateReport"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ServiceStateReport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"computedAt"}},{"kind":"Field","name":{"kind":"Name","value":"window"}},{"kind":"Field","name":{"kind":"Name","value":"counts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"scaling"}},{"kind":"Field","name":{"kind":"Name","value":"healing"}},{"kind":"Field","name":{"kind":"Name","value":"down"}}]}},{"kind":"Field","name":{"kind":"Name","value":"services"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"reasons"}},{"kind":"Field","name":{"kind":"Name","value":"instances"}},{"kind":"Field","name":{"kind":"Name","value":"passing"}},{"kind":"Field","name":{"kind":"Name","value":"warning"}},{"kind":"Field","name":{"kind":"Name","value":"critical"}},{"kind":"Field","name":{"kind":"Name","value":"minInstances"}},{"kind":"Field","name":{"kind":"Name","value":"maxInstances"}},{"kind":"Field","name":{"kind":"Name","value":"until"}}]}}]}}]} as unknown as DocumentNode<DashboardServiceStatesQuery, DashboardServiceStatesQueryVariables>;
export const DashboardServiceStatesChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardServiceStatesChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"serviceStatesChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"prefix"},"value":{"kind":"Variable","name":{"kind":"Name","value":"prefix"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardStateReport"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardStateReport"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ServiceStateReport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"computedAt"}},{"kind":"Field","name":{"kind":"Name","value":"window"}},{"kind":"Field","name":{"kind":"Name","value":"counts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"scaling"}},{"kind":"Field","name":{"kind":"Name","value":"healing"}},{"kind":"Field","name":{"kind":"Name","value":"down"}}]}},{"kind":"Field","name":{"kind":"Name","value":"services"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"reasons"}},{"kind":"Field","name":{"kind":"Name","value":"instances"}},{"kind":"Field","name":{"kind":"Name","value":"passing"}},{"kind":"Field","name":{"kind":"Name","value":"warning"}},{"kind":"Field","name":{"kind":"Name","value":"critical"}},{"kind":"Field","name":{"kind":"Name","value":"minInstances"}},{"kind":"Field","name":{"kind":"Name","value":"maxInstances"}},{"kind":"Field","name":{"kind":"Name","value":"until"}}]}}]}}]} as unknown as DocumentNode<DashboardServiceStatesChangedSubscription, DashboardServiceStatesChangedSubscriptionVariables>;
export const DashboardRegistryHealthDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardRegistryHealth"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registryHealth"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"database"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reachable"}},{"kind":"Field","name":{"kind":"Name","value":"latency"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}},{"kind":"Field","name":{"kind":"Name","value":"servers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardRegistryInstance"}}]}},{"kind":"Field","name":{"kind":"Name","value":"workers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardRegistryInstance"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardRegistryInstance"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ServiceInstance"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"port"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"registeredAt"}},{"kind":"Field","name":{"kind":"Name","value":"health"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"output"}}]}}]}}]} as unknown as DocumentNode<DashboardRegistryHealthQuery, DashboardRegistryHealthQueryVariables>;
export const DashboardServiceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardService"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"discoverServices"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardInstance"}}]}},{"kind":"Field","name":{"kind":"Name","value":"latestEventId"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardCheck"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"HealthCheck"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"http"}},{"kind":"Field","name":{"kind":"Name","value":"tcp"}},{"kind":"Field","name":{"kind":"Name","value":"grpc"}},{"kind":"Field","name":{"kind":"Name","value":"script"}},{"kind":"Field","name":{"kind":"Name","value":"ttl"}},{"kind":"Field","name":{"kind":"Name","value":"interval"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"output"}},{"kind":"Field","name":{"kind":"Name","value":"lastCheck"}},{"kind":"Field","name":{"kind":"Name","value":"checkCount"}},{"kind":"Field","name":{"kind":"Name","value":"failureCount"}},{"kind":"Field","name":{"kind":"Name","value":"statusChangedAt"}},{"kind":"Field","name":{"kind":"Name","value":"deregisterCriticalServiceAfter"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardInstance"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ServiceInstance"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"port"}},{"kind":"Field","name":{"kind":"Name","value":"tags"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"weight"}},{"kind":"Field","name":{"kind":"Name","value":"priority"}},{"kind":"Field","name":{"kind":"Name","value":"registeredAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastHeartbeatAt"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"maintenance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"since"}}]}},{"kind":"Field","name":{"kind":"Name","value":"health"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"output"}},{"kind":"Field","name":{"kind":"Name","value":"lastCheck"}}]}},{"kind":"Field","name":{"kind":"Name","value":"checks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardCheck"}}]}},{"kind":"Field","name":{"kind":"Name","value":"circuitBreaker"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"failures"}},{"kind":"Field","name":{"kind":"Name","value":"calls"}},{"kind":"Field","name":{"kind":"Name","value":"openedAt"}}]}}]}}]} as unknown as DocumentNode<DashboardServiceQuery, DashboardServiceQueryVariables>;
export const DashboardSelectionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardSelection"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"strategy"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"LoadBalancingStrategy"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"hashKey"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"allowWarning"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"selectInstanceExplained"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"service"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}},{"kind":"Argument","name":{"kind":"Name","value":"strategy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"strategy"}}},{"kind":"Argument","name":{"kind":"Name","value":"hashKey"},"value":{"kind":"Variable","name":{"kind":"Name","value":"hashKey"}}},{"kind":"Argument","name":{"kind":"Name","value":"allowWarning"},"value":{"kind":"Variable","name":{"kind":"Name","value":"allowWarning"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"strategy"}},{"kind":"Field","name":{"kind":"Name","value":"tier"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"selected"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}},{"kind":"Field","name":{"kind":"Name","value":"candidates"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"port"}}]}},{"kind":"Field","name":{"kind":"Name","value":"eligible"}},{"kind":"Field","name":{"kind":"Name","value":"exclusions"}},{"kind":"Field","name":{"kind":"Name","value":"circuit"}},{"kind":"Field","name":{"kind":"Name","value":"priority"}},{"kind":"Field","name":{"kind":"Name","value":"weight"}},{"kind":"Field","name":{"kind":"Name","value":"share"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardSelectionQuery, DashboardSelectionQueryVariables>;
export const DashboardHealthHistoryDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardHealthHistory"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"healthHistory"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"last"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"checkId"}},{"kind":"Field","name":{"kind":"Name","value":"checkName"}},{"kind":"Field","name":{"kind":"Name","value":"from"}},{"kind":"Field","name":{"kind":"Name","value":"to"}},{"kind":"Field","name":{"kind":"Name","value":"output"}},{"kind":"Field","name":{"kind":"Name","value":"instanceStatus"}}]}}]}}]} as unknown as DocumentNode<DashboardHealthHistoryQuery, DashboardHealthHistoryQueryVariables>;
export const DashboardInstancesChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardInstancesChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"names"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instancesChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"names"},"value":{"kind":"Variable","name":{"kind":"Name","value":"names"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ServiceChange"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"HealthChange"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceStatus"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardInstancesChangedSubscription, DashboardInstancesChangedSubscriptionVariables>;
export const DashboardCircuitChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardCircuitChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"circuitChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}}]}}]} as unknown as DocumentNode<DashboardCircuitChangedSubscription, DashboardCircuitChangedSubscriptionVariables>;