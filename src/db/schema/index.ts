/** The tables, one file per concern; drizzle-kit reads this module (drizzle.config.ts). */
export { services } from './services.js';
export { events, eventLogState } from './events.js';
export { components } from './components.js';
export { configEntries, configHistory, type ConfigEntryRow, type ConfigHistoryRow } from './config.js';
export { healthChecks, healthTransitions } from './health.js';
export { circuitBreakers, type CircuitBreakerRow } from './breakers.js';
export { tokens } from './tokens.js';
export {
  alertRules,
  alerts,
  alertSilences,
  webhookDeliveries,
  leaders,
  type AlertRuleRow,
  type AlertRow,
  type SilenceRow,
  type WebhookDeliveryRow,
  type StoredReceiver,
} from './alerts.js';
export { servicePolicies, type ServicePolicyRow } from './policies.js';
