/** Prometheus metrics: one registry per node, and what records into it. */
export { createMetricsRegistry } from './registry.js';
export { HealthMetrics } from './health.js';
export { GroupCommitMetrics, type BatchObserver } from './group-commit.js';
export { observeDatabasePool } from './database.js';
export { ServerMetrics, countCatalogReloads } from './server.js';
export { useOperationMetrics } from './graphql.js';
export { ScrapeReads } from './scrape.js';
export { observeSources } from './sources.js';
