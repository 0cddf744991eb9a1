import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { pgTextArray } from '../../events/read.js';

/**
 * Ephemeral instances are bound to their client's connection instead of to heartbeats.
 *
 * A WebSocket client names its session (graphql-ws `connectionParams.sessionId`, a random
 * id it keeps across reconnects). `registerService(..., ephemeral: true)` stores that
 * session on the instance with an ordinary TTL lease of the grace period, and whichever
 * server the session is connected to renews the leases of its instances, every server in
 * one statement per interval: no client traffic at all. When the connection drops, nobody
 * renews, and the expiry sweep removes the instance once the grace period has passed
 * (reason `connection-lost`); a reconnect within it, to this server or another, renews it
 * again. A server that dies stops renewing too, so its clients' instances go unless they
 * reconnect elsewhere in time. A server's own sweep skips the sessions connected to it
 * (expire.ts `keepSessions`): a stalled server resuming must not remove its live clients'
 * instances before its late renewal runs.
 */
export interface SessionBinding {
  /** The client's session id (connectionParams.sessionId). */
  id: string;
  /** The lease its instances get, renewed while the session is connected (SWITCHBOARD_EPHEMERAL_GRACE). */
  graceMs: number;
}

/**
 * A session id is a bearer secret of its client (whoever presents it keeps the instances
 * alive): long enough not to be guessed, as a random UUID is. It never leaves the server.
 */
export const SessionLimits = { minLength: 16, maxLength: 128 } as const;

/**
 * How often a server renews its sessions' leases: three times per grace period, so two
 * renewals in a row may be late or fail (a slow database, a busy event loop) before a
 * connected client's instance lapses.
 */
export function renewalIntervalMs(graceMs: number): number {
  return Math.floor(graceMs / 3);
}

/**
 * Renews, in one statement, the leases of every instance bound to one of `sessionIds`
 * (a lapsed one not yet swept too, as a heartbeat would). Rows are locked in id order,
 * as every other multi-row write here locks them, so it cannot deadlock with a batch of
 * registrations; the expiry sweep skips rows it holds. Renewals are not events (like
 * heartbeats). Returns how many instances it renewed.
 *
 * The lease runs from when the row is written (`clock_timestamp()`), not from when the
 * statement started (`now()`): a renewal that waited behind a registration batch's or a
 * health write's row lock for longer than the grace period used to commit a lease that had
 * already run out, and the next sweep removed the instance of a connected client. Each
 * instance keeps its own lease length (`ttl_ms`, the grace of the server that registered
 * it), so `expires_at - ttl_ms` is always the last renewal.
 */
export async function renewSessionLeases(db: Db, sessionIds: readonly string[], graceMs: number): Promise<number> {
  if (sessionIds.length === 0) return 0;
  const renewed = await db.execute(sql`
    update services set expires_at = clock_timestamp() + coalesce(ttl_ms, ${graceMs}::int) * interval '1 millisecond'
    where id in (
      select id from services
      where session_id = any(${pgTextArray(sessionIds)}::text[])
      order by id
      for update
    )
  `);
  return renewed.count;
}

/**
 * What the logs show of a session: a short digest. The session id is its client's bearer
 * secret (whoever presents it keeps the instances alive), and logs travel further than the
 * database; a client, or an operator who has its id, can compute the same digest to find it.
 */
export function sessionFingerprint(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex').slice(0, 12);
}
