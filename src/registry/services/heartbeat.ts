import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import { notFound, SwitchboardError, type EventActor } from '@switchboard/contracts';
import type { Db, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { currentActor } from '../../events/actor.js';
import { appendEvents } from '../../events/append.js';
import { pgTextArray } from '../../events/read.js';
import type { NewEvent } from '../../events/types.js';
import { instanceChangeRefusal, type Principal } from '../access/principal.js';
import { checkOwners, passTtlChecks, passTtlChecksById, refreshPassingTtlChecks, type TtlPass } from '../health/ttl.js';
import type { ServiceInstance } from '../instances/model.js';

/**
 * One heartbeat: an instance's lease renewed (its TTL checks passed with it), or one TTL
 * check passed by id (Consul's agent/check/pass), for `principal`. `actor`: who the events
 * name, captured at the call (a batch runs outside every request).
 */
export type Heartbeat = { principal: Principal; actor: EventActor | undefined } & (
  { kind: 'instance'; id: string } | { kind: 'check'; id: string; output: string }
);

export interface WrittenHeartbeat {
  /** The instance renewed (or whose check passed), as this transaction leaves it. */
  instance: ServiceInstance;
  /** Its newest event's id; 0 when it recorded none (the usual case). */
  eventId: number;
}

/** A heartbeat's outcome in its batch: written, or refused alone (the others go on). */
export type HeartbeatAnswer = WrittenHeartbeat | SwitchboardError;

/**
 * Renews an instance's lease and passes its TTL checks, in a transaction of its own
 * (the HeartbeatWriter groups concurrent heartbeats into shared transactions instead).
 */
export async function heartbeat(db: Db, id: string, principal: Principal): Promise<ServiceInstance> {
  const [answer] = await runTransaction(db, (tx) => writeHeartbeats(tx, [{ kind: 'instance', id, principal, actor: currentActor() }]));
  if (answer instanceof SwitchboardError) throw answer;
  return answer!.instance;
}

/**
 * The one write path of heartbeats, for any number of them, in the caller's transaction;
 * answers in the batch's order. Heartbeats are not events: like an etcd lease keep-alive,
 * renewing changes nothing a watcher acts on, and at one per instance per few seconds they
 * would drown the log. Expiry, when it comes, is an event; so is a TTL check turning
 * passing again. So the common batch is one statement between BEGIN and COMMIT, and no
 * append: lock the instances and renew their leases (lockAndRenew); for instances with TTL
 * checks, one more refreshes those already passing.
 *
 * An instance named by several heartbeats of the batch is renewed once, and its TTL checks
 * count every one of them. Each heartbeat is checked alone, under the row lock: NOT_FOUND
 * for an unknown id, FORBIDDEN for an instance its principal may not change; either fails
 * that heartbeat only.
 */
export async function writeHeartbeats(tx: Tx, batch: readonly Heartbeat[]): Promise<HeartbeatAnswer[]> {
  if (batch.length === 0) return [];
  const owners = await checkOwners(tx, unique(batch.flatMap((beat) => (beat.kind === 'check' ? [beat.id] : []))));
  const ownerOf = (beat: Heartbeat) => (beat.kind === 'instance' ? beat.id : owners.get(beat.id));
  const named = unique(batch.flatMap((beat) => (beat.kind === 'instance' ? [beat.id] : [])));
  const { renewed, locked } = await lockAndRenew(tx, unique(batch.flatMap((beat) => ownerOf(beat) ?? [])), named);
  const instances = new Map<string, ServiceInstance>([...locked, ...renewed].map(({ instance }) => [instance.id, instance]));
  const refusals = batch.map((beat) => {
    const instance = instances.get(ownerOf(beat) ?? '');
    if (!instance) return notFound(beat.kind === 'instance' ? 'Service instance' : 'Health check', beat.id);
    return instanceChangeRefusal(beat.principal, instance);
  });
  const allowed = batch.filter((_, index) => refusals[index] === undefined);

  // Each instance once, with the number of heartbeats it stands for; likewise each check.
  const renewals = new Map<string, number>();
  const passes = new Map<string, TtlPass>();
  for (const beat of allowed) {
    if (beat.kind === 'instance') renewals.set(beat.id, (renewals.get(beat.id) ?? 0) + 1);
    else passes.set(beat.id, { checkId: beat.id, output: beat.output, times: (passes.get(beat.id)?.times ?? 0) + 1 });
  }
  // Renewed, but by no one allowed to: as if never renewed (rare; the row lock is still held).
  const restored = await restoreLeases(
    tx,
    renewed.filter(({ instance }) => !renewals.has(instance.id)),
  );
  for (const instance of restored) instances.set(instance.id, instance);

  // Events, by what caused them, in the order they are appended.
  const outboxes = new Map<string, NewEvent[]>();
  const outboxOf = (key: string) => {
    const outbox: NewEvent[] = [];
    outboxes.set(key, outbox);
    return outbox;
  };
  const withTtlChecks = new Map(
    renewed.filter(({ instance, hasTtlChecks }) => hasTtlChecks && renewals.has(instance.id)).map(({ instance }) => [instance.id, renewals.get(instance.id)!]),
  );
  const turning = await refreshPassingTtlChecks(tx, withTtlChecks);
  for (const id of [...turning].sort()) {
    instances.set(id, await passTtlChecks(tx, instances.get(id)!, outboxOf(`instance:${id}`), renewals.get(id)));
  }
  const passed = await passTtlChecksById(tx, [...passes.values()], instances, (checkId) => outboxOf(`check:${checkId}`));

  const eventIds = await appendLast(tx, outboxes, allowed);
  return batch.map((beat, index) => {
    const refusal = refusals[index] ?? (beat.kind === 'check' ? passed.get(beat.id) : undefined);
    if (refusal) return refusal;
    return { instance: instances.get(ownerOf(beat)!)!, eventId: eventIds.get(`${beat.kind}:${beat.id}`) ?? 0 };
  });
}

/** An instance as renewed, with its lease before (to restore it, should its renewal be refused). */
interface RenewedRow {
  instance: ServiceInstance;
  previousHeartbeatAt: string | null;
  previousExpiresAt: string | null;
  hasTtlChecks: boolean;
}

/**
 * Locks the rows of `ids` (in id order, so two servers' batches cannot deadlock) and renews the
 * leases of those in `renew`, in one statement: a batch of heartbeats is then one round trip
 * between BEGIN and COMMIT. Who may renew what is decided afterwards, under the lock (a refused
 * renewal is undone by restoreLeases). Returns the rows renewed, and those only locked.
 *
 * The lease runs from the write (clock_timestamp()), not from the transaction's start: a batch
 * that waited for a row lock must not commit a lease already partly spent (see ephemeral.ts).
 */
async function lockAndRenew(
  tx: Tx,
  ids: readonly string[],
  renew: readonly string[],
): Promise<{ renewed: RenewedRow[]; locked: { instance: ServiceInstance }[] }> {
  if (ids.length === 0) return { renewed: [], locked: [] };
  const lock = tx.$with('locked').as(
    tx
      .select({
        id: services.id,
        previousHeartbeatAt: sql<string | null>`${services.lastHeartbeatAt}::text`.as('previous_heartbeat_at'),
        previousExpiresAt: sql<string | null>`${services.expiresAt}::text`.as('previous_expires_at'),
      })
      .from(services)
      .where(sql`${services.id} = any(${pgTextArray([...ids].sort())}::text[])`)
      .orderBy(services.id)
      .for('update'),
  );
  const rows = await tx
    .with(lock)
    .update(services)
    .set({
      lastHeartbeatAt: sql`clock_timestamp()`,
      expiresAt: sql`case when ${services.ttlMs} is null then null else clock_timestamp() + ${services.ttlMs} * interval '1 millisecond' end`,
    })
    .from(lock)
    .where(and(eq(services.id, lock.id), sql`${services.id} = any(${pgTextArray(renew)}::text[])`))
    .returning({
      ...getTableColumns(services),
      previousHeartbeatAt: lock.previousHeartbeatAt,
      previousExpiresAt: lock.previousExpiresAt,
      hasTtlChecks: sql<boolean>`exists (select 1 from health_checks c where c.service_id = ${services.id} and c.kind = 'TTL')`,
    });
  const renewed = rows.map(({ previousHeartbeatAt, previousExpiresAt, hasTtlChecks, ...instance }) => ({
    instance,
    previousHeartbeatAt,
    previousExpiresAt,
    hasTtlChecks,
  }));
  // Locked, not renewed: the instances of TTL checks passed by id (Consul's agent/check/pass).
  const renewing = new Set(renew);
  const others = ids.filter((id) => !renewing.has(id));
  const locked =
    others.length === 0
      ? []
      : (
          await tx
            .select()
            .from(services)
            .where(sql`${services.id} = any(${pgTextArray(others)}::text[])`)
        ).map((instance) => ({ instance }));
  return { renewed, locked };
}

/** Puts back the leases of instances renewed by heartbeats that were refused; returns them as they are now. */
async function restoreLeases(tx: Tx, rows: readonly RenewedRow[]): Promise<ServiceInstance[]> {
  if (rows.length === 0) return [];
  await tx.execute(sql`
    update services s
    set last_heartbeat_at = r.heartbeat_at::timestamptz, expires_at = r.expires_at::timestamptz
    from jsonb_to_recordset(${JSON.stringify(
      rows.map((row) => ({ id: row.instance.id, heartbeat_at: row.previousHeartbeatAt, expires_at: row.previousExpiresAt })),
    )}::jsonb) as r(id text, heartbeat_at text, expires_at text)
    where s.id = r.id`);
  return tx
    .select()
    .from(services)
    .where(sql`${services.id} = any(${pgTextArray(rows.map((row) => row.instance.id))}::text[])`);
}

/**
 * Appends every outbox's events in one statement, the transaction's last, each naming the actor
 * of the first heartbeat that caused it; returns each outbox's newest event id.
 */
async function appendLast(tx: Tx, outboxes: ReadonlyMap<string, NewEvent[]>, heartbeats: readonly Heartbeat[]): Promise<Map<string, number>> {
  const actors = new Map<string, EventActor | null>();
  for (const beat of heartbeats) if (!actors.has(`${beat.kind}:${beat.id}`)) actors.set(`${beat.kind}:${beat.id}`, beat.actor ?? null);
  const entries = [...outboxes].filter(([, events]) => events.length > 0);
  const stored = await appendEvents(
    tx,
    entries.flatMap(([key, events]) => events.map((event) => ({ ...event, actor: actors.get(key) ?? null }))),
  );
  const eventIds = new Map<string, number>();
  let appended = 0;
  for (const [key, events] of entries) {
    appended += events.length;
    eventIds.set(key, stored[appended - 1]!.id);
  }
  return eventIds;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
