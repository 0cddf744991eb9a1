import { createToken, listTokens, revokeToken, type Token } from '../../registry/tokens/index.js';
import { builder } from '../builder.js';

const TokenScopeEnum = builder.enumType('TokenScope', {
  values: {
    READ: { description: 'Queries and subscriptions.' },
    WRITE: { description: 'Registrations, heartbeats, configuration, events, call outcomes (and READ).' },
    ADMIN: { description: 'Tokens, script checks, everything.' },
  } as const,
});

const TokenRef = builder.objectRef<Token>('Token').implement({
  description: 'An API token, without its secret (which is shown once, by createToken).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    scopes: t.expose('scopes', { type: [TokenScopeEnum] }),
    servicePrefix: t.exposeString('servicePrefix', { nullable: true, description: 'Service names it may write (null: any).' }),
    keyPrefix: t.exposeString('keyPrefix', { nullable: true, description: 'Configuration keys it may write and, when secret, read (null: any).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedTokenRef = builder.objectRef<{ token: Token; secret: string }>('CreatedToken').implement({
  fields: (t) => ({
    id: t.id({ resolve: ({ token }) => token.id }),
    token: t.exposeString('secret', { description: 'The secret, to send as "Authorization: Bearer <token>". Shown only now; only its hash is kept.' }),
    details: t.field({ type: TokenRef, resolve: ({ token }) => token }),
  }),
});

const TokenInput = builder.inputType('TokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({ type: [TokenScopeEnum], required: true }),
    servicePrefix: t.string({ description: 'Limit writes to services whose name starts with this.' }),
    keyPrefix: t.string({ description: 'Limit configuration writes (and secret reads) to keys starting with this.' }),
    expiresIn: t.field({ type: 'Duration', description: 'The token stops working after this long; absent: never.' }),
  }),
});

builder.queryFields((t) => ({
  tokens: t.field({
    type: [TokenRef],
    authScopes: { admin: true },
    description: 'Every token, revoked and expired ones included, without secrets.',
    resolve: (_root, _args, context) => listTokens(context.db),
  }),
}));

builder.mutationFields((t) => ({
  createToken: t.field({
    type: CreatedTokenRef,
    authScopes: { admin: true },
    args: { input: t.arg({ type: TokenInput, required: true }) },
    resolve: (_root, { input }, context) => createToken(context.db, { ...input, expiresInMs: input.expiresIn }, context.principal),
  }),
  revokeToken: t.boolean({
    authScopes: { admin: true },
    description: 'Revokes a token on every server at once; its open subscriptions end. NOT_FOUND when unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await revokeToken(context.db, args.id, context.principal);
      return true;
    },
  }),
}));
