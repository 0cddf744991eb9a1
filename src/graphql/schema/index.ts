import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { runAs } from '../../events/actor.js';
import { actorOf } from '../../registry/access/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import './service.js';
import './health.js';
import './selection.js';
import './component.js';
import './config.js';
import './event.js';
import './token.js';

let schema: GraphQLSchema | undefined;

/** The one schema, built on first use (building registers every type with the builder once). */
export function getSchema(): GraphQLSchema {
  schema ??= withMutationActors(builder.toSchema());
  return schema;
}

/**
 * Every mutation runs on behalf of its caller, so each event it appends records
 * who did it (the audit trail), however deep in the domain the append happens.
 * And it answers only once this server's catalog reflects its own events, so a
 * read right after a write, on the same server, sees the write.
 */
function withMutationActors(built: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(built.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve!;
    field.resolve = async (source, args, context: GraphQLContext, info) => {
      const { value, write } = await runAs(actorOf(context.principal), () => resolve(source, args, context, info));
      if (write.lastEventId > 0) await context.catalog.waitFor(write.lastEventId);
      return value;
    };
  }
  return built;
}

/** SDL as committed in schema.graphql: sorted, so diffs show only real changes. */
export function printSchemaSDL(): string {
  return `${printSchema(lexicographicSortSchema(getSchema()))}\n`;
}
