import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OnServiceChangedDocument, RegisterServiceDocument, type SwitchboardClient } from '@switchboard/client';
import { eventually, sleep } from './support/wait.js';
import { useServerPair } from './support/nodes.js';

/**
 * Ephemeral registrations under real concurrency: many WebSocket sessions, spread over two server processes,
 * register hundreds of instances at once while both servers renew their sessions' leases and sweep; some
 * sessions drop mid-way, with registrations still in flight. The end state must be the serial one: exactly
 * the live sessions' instances remain, each once and bound to its session; every instance a dropped session
 * got registered is removed once, as connection-lost; no live one is ever removed.
 */
/**
 * The server's default. With 1.5s (a renewal every 500ms), a burst of 300 registrations on a loaded 2-core
 * machine kept a server from renewing in time now and then, and live instances lapsed.
 */
const GRACE_MS = 5_000;
const SWEEP_MS = 200;
const servers = useServerPair({ SWITCHBOARD_EPHEMERAL_GRACE: `${GRACE_MS}ms`, SWITCHBOARD_EXPIRY_SWEEP: `${SWEEP_MS}ms` });

const SESSIONS = 40;
const PER_SESSION = 8;
/** Every fourth session drops after half its registrations were answered, the other half in flight. */
const drops = (session: number) => session % 4 === 3;

interface Session {
  index: number;
  sessionId: string;
  client: SwitchboardClient;
  ids: string[];
  connectionEnded: boolean;
}

function openSession(index: number): Session {
  const sessionId = randomUUID();
  // Even sessions on server A, odd ones on B.
  const client = servers.clients.create(servers.nodes[index % 2]!.url, undefined, { sessionId });
  // A subscription holds the WebSocket (and so the session) open, as a service's watch does; it ends only
  // when the connection does (the client does not reconnect).
  const session: Session = { index, sessionId, client, ids: Array.from({ length: PER_SESSION }, (_, i) => `eph-${index}-${i}`), connectionEnded: false };
  void client
    .subscribe(OnServiceChangedDocument, { name: `holder-${index}` })
    .next()
    .finally(() => (session.connectionEnded = true))
    .catch(() => {});
  return session;
}

function register(session: Session, id: string) {
  return session.client.requestOverWebSocket(RegisterServiceDocument, {
    input: { id, name: 'ephemeral-load', address: '127.0.0.1', port: 9000 + session.index },
    ephemeral: true,
  });
}

describe('ephemeral instances under concurrency (two servers, many sessions)', () => {
  it('ends in the serial state: the live sessions’ instances once each, the dropped ones’ removed as connection-lost', { timeout: 120_000 }, async () => {
    const sessions = Array.from({ length: SESSIONS }, (_, index) => openSession(index));
    try {
      await churn(sessions);
    } finally {
      await Promise.all(sessions.map((session) => session.client.close()));
    }
  });
});

/** Every session's registrations at once; the dropping sessions close with theirs in flight. Then the checks. */
async function churn(sessions: Session[]): Promise<void> {
  await Promise.all(
    sessions.map(async (session) => {
      const [first, second] = [session.ids.slice(0, PER_SESSION / 2), session.ids.slice(PER_SESSION / 2)];
      await Promise.all(first.map((id) => register(session, id)));
      if (!drops(session.index)) {
        // The rest, and the first one again (an upsert from its own session), all at once.
        await Promise.all([...second, first[0]!].map((id) => register(session, id)));
        return;
      }
      // Dropped with its second half in flight: whatever of it the server wrote is bound to a gone session.
      const inFlight = second.map((id) => register(session, id).catch(() => undefined));
      await sleep(Math.random() * 20); // not a wait: a random moment to drop at, so drops meet registrations at different stages
      await session.client.close();
      await Promise.all(inFlight);
    }),
  );

  const live = sessions.filter((session) => !drops(session.index));
  const dropped = sessions.filter((session) => drops(session.index));
  const liveIds = live.flatMap((session) => session.ids).sort();

  // Several grace periods: the dropped sessions' instances lapse and are swept; the live ones are renewed by
  // whichever server their session is connected to.
  await eventually(
    async () => {
      const rows = await servers.database.sql<{ id: string }[]>`select id from services where name = 'ephemeral-load'`;
      return rows.length === liveIds.length ? true : undefined;
    },
    GRACE_MS + SWEEP_MS + 10_000,
    100,
  );
  // And the live ones go on being renewed: every live lease is renewed to a whole grace period past the one it
  // held when the dropped instances were gone, so each outlived that lease on renewals alone (an instance whose
  // renewals stopped cannot get there: its lease lapses, and a sweep removes it).
  const leases = async () =>
    new Map(
      (
        await servers.database.sql<{ id: string; expires_ms: number }[]>`
          select id, (extract(epoch from expires_at) * 1000)::float8 as expires_ms from services where name = 'ephemeral-load'`
      ).map((row) => [row.id, row.expires_ms]),
    );
  const held = await leases();
  await eventually(
    async () => {
      const now = await leases();
      // A live instance gone ends the wait too: the assertions below say which.
      return liveIds.every((id) => !now.has(id) || now.get(id)! >= held.get(id)! + GRACE_MS) ? true : undefined;
    },
    3 * GRACE_MS + 10_000,
    100,
  );

  // The live sessions stayed connected throughout: a removal of theirs could not be a lost connection.
  expect(live.filter((session) => session.connectionEnded).map((session) => session.index)).toEqual([]);
  const rows = await servers.database.sql<{ id: string; session_id: string | null }[]>`
      select id, session_id from services where name = 'ephemeral-load' order by id`;
  expect(rows.map((row) => row.id)).toEqual(liveIds);
  const sessionOf = new Map(live.flatMap((session) => session.ids.map((id) => [id, session.sessionId] as const)));
  expect(rows.filter((row) => row.session_id !== sessionOf.get(row.id))).toEqual([]);

  const events = await servers.database.sql<{ id: string; type: string; reason: string | null }[]>`
      select data->>'id' as id, type, data->>'reason' as reason from events
      where type in ('service.registered', 'service.unregistered') and data->>'name' = 'ephemeral-load' order by id`;
  const removals = events.filter((event) => event.type === 'service.unregistered');
  // No live instance removed; each registered instance of a dropped session removed exactly once, as connection-lost.
  expect(removals.filter((event) => sessionOf.has(event.id))).toEqual([]);
  const droppedIds = new Set(dropped.flatMap((session) => session.ids));
  const registeredDropped = [
    ...new Set(events.filter((event) => event.type === 'service.registered' && droppedIds.has(event.id)).map((event) => event.id)),
  ].sort();
  expect(removals.map((event) => event.id).sort()).toEqual(registeredDropped);
  expect(new Set(removals.map((event) => event.reason))).toEqual(new Set(['connection-lost']));
  // Every first half was answered before its session dropped: at least those were registered, and removed.
  expect(registeredDropped.length).toBeGreaterThanOrEqual(dropped.length * (PER_SESSION / 2));
  // Each live instance was created once (its re-registration was an upsert, not a second instance).
  const created = events.filter((event) => event.type === 'service.registered' && sessionOf.has(event.id)).map((event) => event.id);
  expect(created.sort()).toEqual(liveIds);
}
