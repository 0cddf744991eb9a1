import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { TokenEventType, unavailable } from '@switchboard/contracts';
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/client.js';
import { toDomainError } from '../db/errors.js';
import type { EventFeed } from '../events/feed.js';
import { ADMIN_PRINCIPAL, OPEN_PRINCIPAL, principalFromToken, type Principal } from '../registry/access/index.js';
import { findActiveToken, hashSecret } from '../registry/tokens/index.js';
import { withinDeadline } from '../http/deadline.js';
import { sendJson } from './responses.js';
import { callAt } from '../timers.js';

const CACHE_TTL_MS = 1_000;
const CACHE_MAX = 10_000;

/** How the token check behaves while the database is away (src/config.ts). */
export interface TokenCheckOptions {
  /** SWITCHBOARD_TOKEN_OUTAGE_GRACE: how long after its last successful check a token's verified state still serves; 0: never. */
  tokenOutageGraceMs: number;
  /** The request deadline: a lookup gets half of it, so the fallback still answers in time. */
  requestTimeoutMs: number;
}

/** What the database last said of a token, and when. */
interface CachedToken {
  /** undefined: not a valid token (unknown, revoked or expired), which is final. */
  principal: Principal | undefined;
  verifiedAt: number;
  /** When the database last failed to answer for it: for a second, the state above serves without asking again. */
  unreachableAt?: number | undefined;
}

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
 * refuses the token at once and ends its open connections and subscriptions; so
 * does its expiry.
 *
 * While the database is unreachable (the lookup fails to connect or does not answer in time),
 * a token checked successfully within the last SWITCHBOARD_TOKEN_OUTAGE_GRACE keeps its verified
 * state: reads go on from the in-memory catalog. Revocations heard and expiry (by the clock) still
 * apply; a revocation on another server during the outage is not heard, which is the trade. A
 * token not verified within the grace gets UNAVAILABLE with `outcome: "not_applied"`.
 */
export class Authenticator {
  private readonly adminDigest: Buffer | undefined;
  /**
   * By secret hash; the least recently used go first when it is full. No ttl: an entry older than
   * CACHE_TTL_MS is asked again, but still serves during an outage (within the grace).
   */
  private readonly cache = new LRUCache<string, CachedToken>({ max: CACHE_MAX });
  private readonly watches = new Map<string, TokenWatch>();
  /** Lookups in flight by secret hash: concurrent requests with one token share one query. */
  private readonly lookups = new Map<string, Promise<Principal | undefined>>();
  /** Token ids revoked since this server started: a lookup that raced a revocation must not bring the token back. */
  private readonly revokedIds = new LRUCache<string, true>({ max: CACHE_MAX });
  private readonly graceMs: number;
  private readonly lookupTimeoutMs: number;

  constructor(
    private readonly db: Db,
    adminToken: string | undefined,
    feed?: EventFeed,
    options: TokenCheckOptions = { tokenOutageGraceMs: 0, requestTimeoutMs: 5_000 },
  ) {
    this.graceMs = options.tokenOutageGraceMs;
    this.lookupTimeoutMs = options.requestTimeoutMs / 2;
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
    if (cached && Date.now() - cached.verifiedAt < CACHE_TTL_MS) return live(cached.principal);
    // The database failed to answer for this token just now (or is being asked again): no request waits for it.
    if (cached?.unreachableAt !== undefined && (Date.now() - cached.unreachableAt < CACHE_TTL_MS || this.lookups.has(key))) {
      const served = this.duringOutage(cached);
      if (served) return served.principal;
    }
    try {
      return await withinDeadline(this.lookup(key, token), this.lookupTimeoutMs);
    } catch (error) {
      if (toDomainError(error)?.code !== 'UNAVAILABLE') throw error;
      const entry = this.cache.get(key);
      const served = entry && this.duringOutage(entry);
      if (!served) throw tokenUnchecked();
      entry.unreachableAt = Date.now();
      return served.principal;
    }
  }

  /** The database's answer for a token, cached; one query per token at a time. */
  private lookup(key: string, token: string): Promise<Principal | undefined> {
    let pending = this.lookups.get(key);
    if (!pending) {
      pending = findActiveToken(this.db, token)
        .then((row) => {
          // A revocation heard while this query ran wins over what it read before.
          const principal = row && !this.revokedIds.has(row.id) ? principalFromToken(row) : undefined;
          this.remember(key, principal);
          return principal;
        })
        .finally(() => this.lookups.delete(key));
      this.lookups.set(key, pending);
    }
    return pending;
  }

  private remember(key: string, principal: Principal | undefined): void {
    this.cache.set(key, { principal, verifiedAt: Date.now() });
  }

  /**
   * What a token's cached state allows while the database cannot say: a refusal known (unknown,
   * revoked, expired by the clock) stands; a principal serves within the grace after its last
   * successful check. Undefined: nothing known that may be used, so UNAVAILABLE.
   */
  private duringOutage(entry: CachedToken): { principal: Principal | undefined } | undefined {
    if (this.graceMs <= 0) return undefined;
    const principal = live(entry.principal);
    if (!principal) return { principal: undefined };
    return Date.now() - entry.verifiedAt < this.graceMs ? { principal } : undefined;
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
    this.revokedIds.set(tokenId, true);
    // Kept as a refusal rather than dropped: a revocation is final, and stands through an outage.
    for (const entry of this.cache.values()) if (entry.principal?.id === tokenId) Object.assign(entry, { principal: undefined, verifiedAt: Date.now() });
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

/** The principal, unless its token has expired by the clock. */
function live(principal: Principal | undefined): Principal | undefined {
  return principal?.expiresAt != null && principal.expiresAt.getTime() <= Date.now() ? undefined : principal;
}

/** Nothing was done for the request: its token could not be checked. */
export const tokenUnchecked = () =>
  unavailable('The token could not be checked: the database is unreachable, and this token was not verified recently. Retry later.', 'not_applied');

/** The 503 for a request refused before GraphQL ran because its token could not be checked, with `outcome` like every UNAVAILABLE. */
export function sendTokenUnchecked(res: ServerResponse): void {
  const error = tokenUnchecked();
  sendJson(res, 503, { errors: [{ message: error.message, extensions: { ...error.details, code: error.code } }] }, { 'retry-after': '1' });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
