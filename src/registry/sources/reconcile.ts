import { eq, or, sql } from 'drizzle-orm';
import type { RemovalReason } from '@switchboard/contracts';
import type { Db, Tx } from '../../db/client.js';
import { healthTransitions, services } from '../../db/schema/index.js';
import { runTransaction } from '../../db/transaction.js';
import { appendEvents } from '../../events/append.js';
import { pgTextArray } from '../../events/read.js';
import type { NewEvent } from '../../events/types.js';
import { actorOf, instanceChangeRefusal, sourcePrincipal } from '../access/principal.js';
import { healthChangedEvent } from '../health/events.js';
import { effectiveStatus } from '../health/model.js';
import type { ServiceInstance } from '../instances/model.js';
import { fenceLeadership } from '../leadership/index.js';
import { registeredEvent, unregisteredEvent } from '../services/events.js';
import { sameDefinition } from '../upsert.js';
import type { Refusal, WantedInstance } from './wanted.js';

/** Who writes a source's instances: the holder of its leadership role, checked in every write. */
export interface SourceLease {
  /** The source's name (SWITCHBOARD_SOURCES). */
  source: string;
  /** Its leadership role in `leaders`. */
  role: string;
  holder: string;
}

/** The role a source's follower leads: one process at a time follows it, across all servers. */
export const sourceRole = (name: string) => `source:${name}`;

/** The follower no longer leads its source (another process may): it wrote nothing. */
export class SourceLeadershipLost extends Error {
  override readonly name = 'SourceLeadershipLost';
}

export interface ReconcileResult {
  created: number;
  updated: number;
  removed: number;
  /** Ids the set holds that belong to another owner (an instance registered here, another source's). */
  collisions: Refusal[];
  /** The source's instances after the write. */
  instances: number;
  events: number;
}

/**
 * Makes the source's rows what `wanted` says, in one transaction, writing only what differs: an
 * instance new to it is inserted (`service.registered`, created), one whose definition changed is
 * updated (`service.registered`), one whose health changed gets `service.health.changed` (with a
 * history row, as a check's transition has), and one no longer delivered is removed
 * (`service.unregistered`, reason `deregistered`). The same set delivered again writes nothing and
 * records no event, so a follower that restarts, or another that takes over, and delivers it
 * again changes nothing anyone can see.
 *
 * The events are the ones registrations write, so every server's catalog, every subscription and
 * the feed follow a source's instances as they follow any. Who may write each row is decided
 * under its lock by the rule every write obeys (instanceChangeRefusal): an id already held by an
 * instance registered here, or by another source, is a collision, refused and left as it is.
 *
 * Fenced on the source's leadership: a follower that lost it (a long pause) writes nothing.
 */
export async function reconcileSource(db: Db, lease: SourceLease, wanted: readonly WantedInstance[]): Promise<ReconcileResult> {
  const principal = sourcePrincipal(lease.source);
  return runTransaction(db, async (tx) => {
    await fence(tx, lease);
    const ids = wanted.map((entry) => entry.definition.id);
    // One locking statement, in id order (as every multi-row write here locks), over every row this write may touch.
    const rows = await tx
      .select()
      .from(services)
      .where(or(sql`${services.id} = any(${pgTextArray(ids)}::text[])`, eq(services.source, lease.source)))
      .orderBy(services.id)
      .for('update');
    const locked = new Map(rows.map((row) => [row.id, row]));
    const events: NewEvent[] = [];
    const collisions: Refusal[] = [];
    const fresh: WantedInstance[] = [];
    let updated = 0;

    for (const entry of [...wanted].sort((a, b) => (a.definition.id < b.definition.id ? -1 : 1))) {
      const row = locked.get(entry.definition.id);
      if (!row) {
        fresh.push(entry);
        continue;
      }
      const refusal = instanceChangeRefusal(principal, row);
      if (refusal) {
        collisions.push({ id: row.id, kind: 'collision', reason: refusal.message });
        continue;
      }
      const changed = await updateIfDifferent(tx, lease.source, row, entry, events);
      if (changed) updated += 1;
    }

    const created = fresh.length === 0 ? [] : await insertFresh(tx, lease.source, fresh);
    for (const instance of created) events.push(registeredEvent(instance, true));
    const createdIds = new Set(created.map((instance) => instance.id));
    for (const entry of fresh) {
      // Registered here between the lock and the insert: refused now, seen as a collision on the next set.
      if (!createdIds.has(entry.definition.id)) {
        collisions.push({ id: entry.definition.id, kind: 'collision', reason: `Instance "${entry.definition.id}" was registered here meanwhile.` });
      }
    }

    const wantedIds = new Set(ids);
    const gone = rows.filter((row) => row.source === lease.source && !wantedIds.has(row.id));
    const removed = await deleteRows(
      tx,
      gone.map((row) => row.id),
    );
    events.push(...removed.map((instance) => sourceRemovalEvent(instance, 'deregistered', `withdrawn by source ${lease.source}`)));

    await appendEvents(
      tx,
      events.map((event) => ({ ...event, actor: actorOf(principal) })),
    );
    const kept = rows.filter((row) => row.source === lease.source).length - removed.length;
    return { created: created.length, updated, removed: removed.length, collisions, instances: kept + created.length, events: events.length };
  });
}

/**
 * Removes every instance of the source, each with `service.unregistered` (`reason`, and `detail`
 * saying why in words): what a source that stayed unreachable past its grace period comes to
 * (`connection-lost`), or one no server follows any more (`deregistered`). Fenced as reconcileSource
 * is. Returns how many it removed.
 */
export async function removeSourceInstances(db: Db, lease: SourceLease, reason: RemovalReason, detail: string): Promise<number> {
  const principal = sourcePrincipal(lease.source);
  return runTransaction(db, async (tx) => {
    await fence(tx, lease);
    // Locked in id order first, as every multi-row write here locks, then removed.
    const rows = await tx.select({ id: services.id }).from(services).where(eq(services.source, lease.source)).orderBy(services.id).for('update');
    const removed = await deleteRows(
      tx,
      rows.map((row) => row.id),
    );
    await appendEvents(
      tx,
      removed.map((instance) => ({ ...sourceRemovalEvent(instance, reason, detail), actor: actorOf(principal) })),
    );
    return removed.length;
  });
}

async function fence(tx: Tx, lease: SourceLease): Promise<void> {
  if (!(await fenceLeadership(tx, lease.role, lease.holder))) throw new SourceLeadershipLost(`another process follows source ${lease.source}`);
}

/** Writes the row when the source's instance differs from it; its events go to `events`. True when it wrote. */
async function updateIfDifferent(tx: Tx, source: string, row: ServiceInstance, entry: WantedInstance, events: NewEvent[]): Promise<boolean> {
  const definitionChanged = !sameDefinition(row, entry.definition);
  const healthChanged = row.checkStatus !== entry.status;
  if (!definitionChanged && !healthChanged) return false;
  const [after] = await tx
    .update(services)
    .set({ ...(definitionChanged ? { ...entry.definition, updatedAt: sql`now()` } : {}), checkStatus: entry.status })
    .where(eq(services.id, row.id))
    .returning();
  // The registration first: a subscriber learns of the instance's new state before its health change, as for a registration with checks.
  if (definitionChanged) events.push(registeredEvent(after!, false));
  if (healthChanged) events.push(await recordSourceHealth(tx, source, row, after!, entry.output));
  return true;
}

/**
 * A health change the source reported, recorded as a check's transition is (a history row and
 * `service.health.changed`), with the source as the check's name: what alert rules, health
 * subscriptions and every catalog follow.
 */
async function recordSourceHealth(tx: Tx, source: string, before: ServiceInstance, after: ServiceInstance, output: string): Promise<NewEvent> {
  const checkName = `source ${source}`;
  const instanceFrom = effectiveStatus(before);
  const instanceTo = effectiveStatus(after);
  await tx.insert(healthTransitions).values({
    serviceId: after.id,
    checkId: null,
    checkName,
    fromStatus: before.checkStatus,
    toStatus: after.checkStatus,
    output,
    instanceStatus: instanceTo,
  });
  return healthChangedEvent({
    id: after.id,
    name: after.name,
    checkId: null,
    checkName,
    from: before.checkStatus,
    to: after.checkStatus,
    output,
    instanceFrom,
    instanceTo,
    checkStatus: after.checkStatus,
    maintenance: after.maintenanceSince ? { reason: after.maintenanceReason, since: after.maintenanceSince.toISOString() } : null,
  });
}

/** Rows one insert statement takes: each is some 15 parameters, and a statement holds at most 65,535. */
const INSERT_CHUNK = 1_000;

async function insertFresh(tx: Tx, source: string, fresh: readonly WantedInstance[]): Promise<ServiceInstance[]> {
  const created: ServiceInstance[] = [];
  for (let start = 0; start < fresh.length; start += INSERT_CHUNK) {
    const chunk = fresh.slice(start, start + INSERT_CHUNK);
    created.push(
      ...(await tx
        .insert(services)
        .values(chunk.map((entry) => ({ ...entry.definition, checkStatus: entry.status, source })))
        .onConflictDoNothing({ target: services.id })
        .returning()),
    );
  }
  return created;
}

/** Deletes the rows (locked already), returned in id order: their events then come in that order. */
async function deleteRows(tx: Tx, ids: readonly string[]): Promise<ServiceInstance[]> {
  if (ids.length === 0) return [];
  const removed = await tx
    .delete(services)
    .where(sql`${services.id} = any(${pgTextArray(ids)}::text[])`)
    .returning();
  return removed.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** `service.unregistered` with `detail`: the words a reason code cannot carry ("source etcd-prod unreachable for 1m"). */
function sourceRemovalEvent(instance: ServiceInstance, reason: RemovalReason, detail: string): NewEvent {
  const event = unregisteredEvent(instance, reason);
  return { ...event, data: { ...event.data, detail } };
}
