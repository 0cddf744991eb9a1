import type { EventActor, TokenScopeValue } from '@switchboard/contracts';
import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

/**
 * API tokens. Only a SHA-256 of the secret is kept (the secret is 32 random bytes,
 * so a fast hash is enough); the secret itself is shown once, at creation.
 */
export const tokens = pgTable('tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  secretHash: text('secret_hash').notNull().unique(),
  scopes: text('scopes').array().$type<TokenScopeValue[]>().notNull(),
  /** Service names this token may write (null: any). */
  servicePrefix: text('service_prefix'),
  /** Configuration keys this token may write, and read when secret (null: any). */
  keyPrefix: text('key_prefix'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  createdBy: jsonb('created_by').$type<EventActor>(),
  expiresAt: timestamptz('expires_at'),
  revokedAt: timestamptz('revoked_at'),
});
