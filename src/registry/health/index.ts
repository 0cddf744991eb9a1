/** Health checks: definitions, TTL updates, maintenance, the worker's reads and writes, history. */
export { registerHealthCheck, deregisterHealthCheck, upsertChecks, getHealthChecksByIds, getHealthChecksByServiceIds, type HealthOptions } from './checks.js';
export { parseCheckDefinition, describeTarget, type CheckPolicy } from './definition.js';
export { updateTtlCheck, type TtlUpdate } from './ttl.js';
export { setMaintenance, type MaintenanceInput } from './maintenance.js';
export { healthHistory, pruneHealthHistory, HISTORY_PAGE_DEFAULT as HEALTH_HISTORY_PAGE_DEFAULT } from './transitions.js';
export { effectiveStatus } from './model.js';
export { watchHealthChanges, type HealthChange } from './changes.js';
export { TargetPolicy } from './policy.js';
export type { HealthCheck, HealthTransition, CheckStatus, CheckKind } from './model.js';
