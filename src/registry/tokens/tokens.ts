import { createHash, randomBytes } from 'node:crypto';
import { asc, eq, getTableColumns, sql } from 'drizzle-orm';
import { z } from 'zod';
import { EVENT_SOURCE, formatDuration, notFound, parseInput, safeText, TokenEventType, type TokenScopeValue } from '@switchboard/contracts';
import type { Db, Executor } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { tokens } from '../../db/schema/index.js';
import { currentActor } from '../../events/actor.js';
import { appendEvents } from '../../events/append.js';
import type { NewBuiltInEvent } from '../../events/types.js';
import { assertHasScope, type Principal } from '../access/index.js';
import type { Token } from './model.js';

export interface TokenInput {
  name: string;
  scopes: readonly string[];
  servicePrefix?: string | null | undefined;
  keyPrefix?: string | null | undefined;
  /** Milliseconds until it stops working; absent: never. */
  expiresInMs?: number | null | undefined;
}

/** Every column but the secret's hash, which only findActiveToken's filter needs. */
const { secretHash: _secretHash, ...tokenColumns } = getTableColumns(tokens);

const MAX_EXPIRY_MS = 10 * 365 * 24 * 3_600_000;

const tokenSchema = z.object({
  name: safeText(128).min(1, 'must not be empty'),
  scopes: z
    .array(z.enum(['READ', 'WRITE', 'ADMIN']))
    .min(1, 'must name at least one scope')
    .max(3)
    .transform((scopes) => [...new Set(scopes)] as TokenScopeValue[]),
  servicePrefix: z
    .string()
    .max(128)
    .regex(/^[A-Za-z0-9._-]+$/, 'must be the start of a service name')
    .nullish(),
  keyPrefix: z
    .string()
    .max(256)
    .regex(/^[A-Za-z0-9._-]+$/, 'must be the start of a configuration key')
    .nullish(),
  expiresInMs: z
    .number()
    .min(1_000, 'must be at least 1s')
    .max(MAX_EXPIRY_MS, `must be at most ${formatDuration(MAX_EXPIRY_MS)}`)
    .nullish(),
});

/** Secrets are 32 random bytes; the store keeps only their SHA-256. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Creates a token. The returned secret is the only copy: it is not stored, logged
 * or put in the `token.created` event.
 */
export async function createToken(db: Db, input: TokenInput, principal: Principal): Promise<{ token: Token; secret: string }> {
  assertHasScope(principal, 'ADMIN', 'create tokens');
  const parsed = parseInput(tokenSchema, input, 'token', { expiresInMs: 'expiresIn' });
  const id = `tok_${randomBytes(8).toString('hex')}`;
  const secret = `sbt_${randomBytes(32).toString('base64url')}`;
  return runTransaction(db, async (tx) => {
    const [token] = await tx
      .insert(tokens)
      .values({
        id,
        name: parsed.name,
        secretHash: hashSecret(secret),
        scopes: parsed.scopes,
        servicePrefix: parsed.servicePrefix ?? null,
        keyPrefix: parsed.keyPrefix ?? null,
        createdBy: currentActor() ?? null,
        expiresAt: parsed.expiresInMs == null ? null : sql`now() + ${Math.round(parsed.expiresInMs)}::int8 * interval '1 millisecond'`,
      })
      .returning(tokenColumns);
    await appendEvents(tx, [tokenEvent(TokenEventType.CREATED, token!)]);
    return { token: token!, secret };
  });
}

/** Revokes a token at once, everywhere; NOT_FOUND when unknown. Revoking twice changes nothing. */
export async function revokeToken(db: Db, id: string, principal: Principal): Promise<Token> {
  assertHasScope(principal, 'ADMIN', 'revoke tokens');
  return runTransaction(db, async (tx) => {
    const [existing] = await tx.select(tokenColumns).from(tokens).where(eq(tokens.id, id)).for('update');
    if (!existing) throw notFound('Token', id);
    if (existing.revokedAt) return existing;
    const [revoked] = await tx
      .update(tokens)
      .set({ revokedAt: sql`now()` })
      .where(eq(tokens.id, id))
      .returning(tokenColumns);
    await appendEvents(tx, [tokenEvent(TokenEventType.REVOKED, revoked!)]);
    return revoked!;
  });
}

export async function listTokens(db: Executor): Promise<Token[]> {
  return db.select(tokenColumns).from(tokens).orderBy(asc(tokens.createdAt), asc(tokens.id));
}

/** The token a secret belongs to, if it exists and is neither revoked nor expired. */
export async function findActiveToken(db: Executor, secret: string): Promise<Token | undefined> {
  const [token] = await db
    .select(tokenColumns)
    .from(tokens)
    .where(sql`${tokens.secretHash} = ${hashSecret(secret)} and ${tokens.revokedAt} is null and (${tokens.expiresAt} is null or ${tokens.expiresAt} > now())`);
  return token;
}

function tokenEvent(type: (typeof TokenEventType)[keyof typeof TokenEventType], token: Token): NewBuiltInEvent<typeof type> {
  return {
    type,
    source: EVENT_SOURCE,
    data: {
      id: token.id,
      name: token.name,
      scopes: token.scopes,
      servicePrefix: token.servicePrefix,
      keyPrefix: token.keyPrefix,
      expiresAt: token.expiresAt?.toISOString() ?? null,
    },
  };
}
