import { createHash, timingSafeEqual } from 'node:crypto';
import { TokenEventType } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { EventFeed } from '../events/feed.js';
import { ADMIN_PRINCIPAL, OPEN_PRINCIPAL, principalFromToken, type Principal } from '../registry/access/index.js';
import { findActiveToken, hashSecret } from '../registry/tokens/index.js';

const CACHE_TTL_MS = 1_000;
const CACHE_MAX = 10_000;

/**
 * Turns the credential a request presents into a principal.
 *
 * Without SWITCHBOARD_ADMIN_TOKEN everything is open (local development). With it,
 * a request presents that token or an API token; anything else is refused. Token
 * lookups are cached for a second (a request should not cost a query to check its
 * token); a revocation, which every server hears about through the event feed,
 * evicts the token at once and ends its open subscriptions.
 */
export class Authenticator {
  private readonly adminDigest: Buffer | undefined;
  private readonly cache = new Map<string, { principal: Principal | undefined; at: number }>();
  private readonly revocationListeners = new Map<string, Set<() => void>>();

  constructor(
    private readonly db: Db,
    adminToken: string | undefined,
    feed?: EventFeed,
  ) {
    this.adminDigest = adminToken === undefined ? undefined : digest(adminToken);
    feed?.observe((events) => {
      for (const event of events) if (event.type === TokenEventType.REVOKED) this.revoked(String(event.data['id']));
    });
  }

  /** True when requests must present a token. */
  get enforced(): boolean {
    return this.adminDigest !== undefined;
  }

  /** Accepts "Bearer <token>" or the bare token; undefined when it is missing or not valid. */
  async authenticate(credential: unknown): Promise<Principal | undefined> {
    if (!this.adminDigest) return OPEN_PRINCIPAL;
    if (typeof credential !== 'string' || credential.length > 4096) return undefined;
    const token = credential.replace(/^Bearer\s+/i, '').trim();
    if (token.length === 0) return undefined;
    // Compared as digests with timingSafeEqual: neither length nor prefix leaks through timing.
    if (timingSafeEqual(digest(token), this.adminDigest)) return ADMIN_PRINCIPAL;

    const key = hashSecret(token);
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < CACHE_TTL_MS && !isExpired(cached.principal)) return cached.principal;
    const row = await findActiveToken(this.db, token);
    const principal = row ? principalFromToken(row) : undefined;
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { principal, at: Date.now() });
    return principal;
  }

  /** Calls `listener` if the principal's token is revoked; returns the unsubscribe. */
  onRevoked(principalId: string, listener: () => void): () => void {
    let listeners = this.revocationListeners.get(principalId);
    if (!listeners) this.revocationListeners.set(principalId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.revocationListeners.delete(principalId);
    };
  }

  private revoked(tokenId: string): void {
    for (const [key, entry] of this.cache) if (entry.principal?.id === tokenId) this.cache.delete(key);
    for (const listener of this.revocationListeners.get(tokenId) ?? []) listener();
  }
}

function isExpired(principal: Principal | undefined): boolean {
  return principal?.expiresAt != null && principal.expiresAt.getTime() <= Date.now();
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
