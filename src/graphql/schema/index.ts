import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from '../builder.js';
import './service.js';
import './endpoint.js';
import './health-status.js';
import './registration.js';
import './service-change.js';
import './health-check.js';
import './maintenance.js';
import './health-history.js';
import './health-change.js';
import './instance-change.js';
import './selection.js';
import './circuit-breaker.js';
import './component.js';
import './component-dependencies.js';
import './composition.js';
import './config.js';
import './config-history.js';
import './config-change.js';
import './event.js';
import './token.js';
import './alert-rule.js';
import './alert.js';
import './alert-silence.js';
import './service-state.js';
import './registry-health.js';

let schema: GraphQLSchema | undefined;

/** The one schema, built on first use (building registers every type with the builder once). */
export function getSchema(): GraphQLSchema {
  schema ??= builder.toSchema();
  return schema;
}

/** SDL as committed in schema.graphql: sorted, so diffs show only real changes. */
export function printSchemaSDL(): string {
  return `${printSchema(lexicographicSortSchema(getSchema()))}\n`;
}
