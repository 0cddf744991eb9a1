import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { runAs } from '../events/actor.js';
import { actorOf } from '../registry/access/index.js';
import type { GraphQLContext } from './context.js';

/** The name builder.ts lists among its plugins. */
export const WRITES_PLUGIN = 'writes';

declare global {
  // Pothos plugins declare their types by merging into this global namespace.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      writes: PothosWritesPlugin<Types>;
    }
  }
}

/**
 * Every mutation is a write on behalf of its caller:
 * - each event it appends records who did it (the audit trail), however deep in the
 *   domain the append happens;
 * - it answers only once this server's catalog reflects its own events, so a read
 *   right after the write, on the same server, sees it.
 * Listed after the dataloader plugin, so the wait comes before a returned id is
 * loaded from the catalog.
 */
export class PothosWritesPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolve: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.kind !== 'Mutation') return resolve;
    return async (source, args, context, info) => {
      // Plugins are generic over the builder's types; this builder's context is ours.
      const { principal, catalog } = context as GraphQLContext;
      const { value, write } = await runAs(actorOf(principal), () => resolve(source, args, context, info));
      if (write.lastEventId > 0) await catalog.waitFor(write.lastEventId);
      return value;
    };
  }
}

SchemaBuilder.registerPlugin(WRITES_PLUGIN, PothosWritesPlugin);
