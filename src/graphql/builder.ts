import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { SwitchboardError } from '@switchboard/contracts';
import { hasScope } from '../registry/access/index.js';
import type { GraphQLContext } from './context.js';
import { DurationScalar } from './scalars.js';
import { WRITES_PLUGIN } from './writes-plugin.js';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  AuthScopes: { read: boolean; write: boolean; admin: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    Duration: { Input: number; Output: number };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string | number };
  };
}>({
  // Scope checks run before resolvers (and before loaders), so they come first; a
  // mutation's write (its actor, its read-your-writes wait) wraps only its own resolver.
  plugins: [ScopeAuthPlugin, DataloaderPlugin, WRITES_PLUGIN],
  // Fields are non-null unless they say otherwise: clients should not null-check what cannot be null.
  defaultFieldNullability: false,
  scopeAuth: {
    // Checked when a subscription starts, not on each event it delivers.
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      read: hasScope(context.principal, 'READ'),
      write: hasScope(context.principal, 'WRITE'),
      admin: hasScope(context.principal, 'ADMIN'),
    }),
    unauthorizedError: (_parent, context, info) =>
      new SwitchboardError(
        'FORBIDDEN',
        `Token "${context.principal.name}" may not use ${info.parentType.name}.${info.fieldName}: its scopes are ${[...context.principal.scopes].join(', ')}.`,
      ),
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('Duration', DurationScalar);

// READ for queries and subscriptions, WRITE for mutations (ADMIN includes both); some
// fields ask for more (tokens: ADMIN).
builder.queryType({ authScopes: { read: true } });
builder.mutationType({ authScopes: { write: true } });
builder.subscriptionType({ authScopes: { read: true } });
