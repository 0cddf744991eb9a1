import { createHash, timingSafeEqual } from 'node:crypto';
import { TokenEventType } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { EventFeed } from '../events/feed.js';
import { ADMIN_PRINCIPAL, OPEN_PRINCIPAL, principalFromToken, type Principal } from '../registry/access/index.js';
import { findActiveToken, hashSecret } from '../registry/tokens/index.js';
import { callAt } from './timers.js';

const CACHE_TTL_MS = 1_000;
const CACHE_MAX = 10_000;

/** Why a token stopped working while something it opened was still open. */
export type TokenEnd = 'revoked' | 'expired';

/** What is open on this server under one token, and the one timer for its expiry. */
interface TokenWatch {
  listeners: Set<(why: TokenEnd) => void>;
  cancelExpiry: (() => void) | undefined;
}

/**
 * Turns the credential a request presents into a principal.
 *
 * Without SWITCHBOARD_ADMIN_TOKEN everything is open (local development). With it,
 * a request presents that token or an API token; anything else is refused. Token
 * lookups are cached for a second (a request should not cost a query to check its
 * token); a revocation, which every server hears about through the event feed,
 * evicts the token at once and ends its open connections and subscriptions; so
 * does its expiry.
 */
export class Authenticator {
  private readonly adminDigest: Buffer | undefined;
  private readonly cache = new Map<string, { principal: Principal | undefined; at: number }>();
  private readonly watches = new Map<string, TokenWatch>();

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

  /**
   * Calls `listener` when the principal's token ends: revoked (on any server) or
   * expired. Everything one token holds open on this server (connections,
   * subscriptions) shares one expiry timer. Returns the unsubscribe.
   */
  onEnd(principal: Principal, listener: (why: TokenEnd) => void): () => void {
    let watch = this.watches.get(principal.id);
    if (!watch) {
      const expiresAt = principal.expiresAt;
      watch = { listeners: new Set(), cancelExpiry: expiresAt ? callAt(expiresAt, () => this.ended(principal.id, 'expired')) : undefined };
      this.watches.set(principal.id, watch);
    }
    const { listeners } = watch;
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.watches.get(principal.id) === watch) {
        watch.cancelExpiry?.();
        this.watches.delete(principal.id);
      }
    };
  }

  private revoked(tokenId: string): void {
    for (const [key, entry] of this.cache) if (entry.principal?.id === tokenId) this.cache.delete(key);
    this.ended(tokenId, 'revoked');
  }

  private ended(tokenId: string, why: TokenEnd): void {
    const watch = this.watches.get(tokenId);
    if (!watch) return;
    // An expiry is final: whatever the token opens afterwards arms a new timer, which fires at once.
    if (why === 'expired') this.watches.delete(tokenId);
    for (const listener of [...watch.listeners]) listener(why);
  }
}

function isExpired(principal: Principal | undefined): boolean {
  return principal?.expiresAt != null && principal.expiresAt.getTime() <= Date.now();
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
