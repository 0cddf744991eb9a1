/**
 * Service states (ACTIVE, SCALING, HEALING, DOWN; definitions in model.ts) and the optional
 * per-service scaling policy they judge against. `classifyService` is the pure rule;
 * `computeServiceStates` applies it to a server's catalog and the recent event log.
 */
export * from './model.js';
export { classifyService, countStates, type ClassifyInput } from './classify.js';
export { readRecentActivity, STATE_EVENT_TYPES, type RecentActivity } from './activity.js';
export { computeServiceStates, nextUntil, statesQuery, STATE_WINDOW_MAX_MS, STATE_WINDOW_MIN_MS, type StatesQuery } from './report.js';
export { watchServiceStates, STATES_COALESCE_MS, type StatesWatchDeps } from './watch.js';
export { deleteServicePolicy, getServicePolicy, listServicePolicies, setServicePolicy } from './policy.js';
