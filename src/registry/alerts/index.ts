/** Alert rules, their evaluation under a cluster-wide lease, alerts, silences and webhook deliveries. */
export * from './changes.js';
export * from './counts.js';
export * from './deliveries.js';
export * from './evaluate.js';
export * from './kinds.js';
export * from './leadership.js';
export * from './model.js';
export * from './payload.js';
export * from './queries.js';
export * from './rules.js';
export * from './silences.js';
export * from './targets.js';
