import { inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { currentSignal } from '../../db/deadline.js';
import { abandoned, runTransaction } from '../../db/transaction.js';
import { SwitchboardError } from '../../errors.js';
import { services } from '../../db/schema.js';
import { currentActor, noteAppended, type EventActor } from '../../events/actor.js';
import { appendEvents } from '../../events/append.js';
import type { NewEvent } from '../../events/types.js';
import { assertMayChangeInstance, instanceChangeRefusal, type Principal } from '../access/principal.js';
import type { CheckPolicy } from '../health/definition.js';
import { GroupCommit, type Queued } from '../group-commit.js';
import { parseServiceDefinition, type ServiceDefinition, type ServiceDefinitionInput } from './definition.js';
import { registeredEvent } from './events.js';
import type { ServiceInstance } from '../instances/model.js';
import { leaseEnd, registerService, sameDefinition } from './register.js';

interface Registration {
  definition: ServiceDefinition;
  actor: EventActor | undefined;
  /** Who registers: checked against the instance's owner under its row lock. */
  principal: Principal | undefined;
  /** The request's signal, captured at enqueue (the batch runs outside every request). */
  signal: AbortSignal | undefined;
}

interface Written {
  instance: ServiceInstance;
  eventId: number;
}

/** A registration's outcome within its batch: written, or refused alone (the others go on). */
type Answer = Written | SwitchboardError;

type Pending = Queued<Registration, Written>;

/** Registrations one transaction takes at most. */
const MAX_BATCH = 256;

/**
 * Group commit for registrations: a batch is written in one transaction, with one
 * locking read, one insert, one append of their events (each its own event, with
 * its own actor) and one NOTIFY.
 *
 * Each registration stays atomic (its row and its event commit together) and each
 * caller learns its own outcome: if a batch fails, its registrations are retried
 * one by one, so one bad registration cannot fail the others. A registration whose
 * token may not take over the id it names (checked under the row lock) is refused
 * alone, FORBIDDEN; one whose request was abandoned while it queued is dropped
 * before its batch's first statement (UNAVAILABLE, not applied).
 *
 * Registrations that carry health checks (or replace them) go through registerService on their own:
 * they are rare next to agents re-registering, and their check writes append
 * events of their own.
 */
export class RegistrationWriter {
  private readonly batches = new GroupCommit<Registration, Written>((batch) => this.write(batch), takeBatch);

  constructor(
    private readonly db: Db,
    private readonly policy: CheckPolicy,
  ) {}

  /**
   * Registers (upserts) an instance; resolves once it is committed. With a principal,
   * a token may not take over an id registered under a name it may not write.
   */
  async register(input: ServiceDefinitionInput, principal?: Principal): Promise<ServiceInstance> {
    if ((input.healthChecks ?? []).length > 0 || input.replaceExistingChecks) return registerService(this.db, input, this.policy, principal);
    // Validated here, so a bad definition fails alone, before it joins a batch.
    const definition = parseServiceDefinition(input);
    assertMayChangeInstance(principal, definition.name);
    const signal = currentSignal();
    if (signal?.aborted) throw abandoned();
    const { instance, eventId } = await this.batches.submit({ definition, actor: currentActor(), principal, signal });
    noteAppended(eventId);
    return instance;
  }

  /** Resolves when every registration queued so far is written. */
  flush(): Promise<void> {
    return this.batches.flush();
  }

  private async write(batch: readonly Pending[]): Promise<void> {
    let live = batch;
    try {
      const answers = await runTransaction(this.db, (tx) => {
        // The connection is held and nothing is written yet: whoever gave up while queued is dropped.
        live = withoutAbandoned(live);
        return writeBatch(tx, live.map((entry) => entry.item));
      });
      live.forEach((entry, index) => answer(entry, answers[index]!));
    } catch (error) {
      // One by one finds the registration that failed the batch. Not when the database is
      // unavailable: that fails them all alike, and a batch whose commit was cut off
      // (outcome unknown) may have been applied, so it must not run again.
      if (live.length <= 1 || (error instanceof SwitchboardError && error.code === 'UNAVAILABLE')) for (const entry of live) entry.reject(error);
      else await this.oneByOne(live);
    }
  }

  private async oneByOne(batch: readonly Pending[]): Promise<void> {
    for (const entry of batch) {
      try {
        const [result] = await runTransaction(this.db, (tx) => writeBatch(tx, withoutAbandoned([entry]).map((live) => live.item)));
        if (result) answer(entry, result);
      } catch (error) {
        entry.reject(error);
      }
    }
  }
}

/** Refuses (UNAVAILABLE, not applied) the entries whose request was abandoned; returns the others. */
function withoutAbandoned(entries: readonly Pending[]): readonly Pending[] {
  const live = entries.filter((entry) => !entry.item.signal?.aborted);
  if (live.length === entries.length) return entries;
  for (const entry of entries) if (entry.item.signal?.aborted) entry.reject(abandoned());
  return live;
}

function answer(entry: Pending, result: Answer): void {
  if (result instanceof SwitchboardError) entry.reject(result);
  else entry.resolve(result);
}

/** Up to MAX_BATCH queued registrations with distinct ids (a repeated id waits for the next batch). */
function takeBatch(queue: Pending[]): Pending[] {
  const ids = new Set<string>();
  const batch: Pending[] = [];
  const rest: Pending[] = [];
  for (const entry of queue) {
    if (batch.length < MAX_BATCH && !ids.has(entry.item.definition.id)) {
      ids.add(entry.item.definition.id);
      batch.push(entry);
    } else {
      rest.push(entry);
    }
  }
  queue.splice(0, queue.length, ...rest);
  return batch;
}

/**
 * Upserts every definition (distinct ids) and appends an event for each one that
 * is new or changed, in the caller's transaction; results in the batch's order.
 * Rows are locked in id order, so two servers' batches cannot deadlock each other.
 */
async function writeBatch(tx: Tx, batch: readonly Registration[]): Promise<Answer[]> {
  if (batch.length === 0) return [];
  const written = new Map<string, { instance: ServiceInstance; event: NewEvent | undefined }>();
  const refused = new Map<string, SwitchboardError>();
  let pending = [...batch].sort((a, b) => (a.definition.id < b.definition.id ? -1 : 1));
  while (pending.length > 0) {
    const ids = pending.map((entry) => entry.definition.id);
    const existing = new Map(
      (await tx.select().from(services).where(inArray(services.id, ids)).orderBy(services.id).for('update')).map((row) => [row.id, row]),
    );
    for (const entry of pending) {
      const current = existing.get(entry.definition.id);
      if (!current) continue;
      // Under the row lock: a token may not take over an id registered under another name.
      const forbidden = instanceChangeRefusal(entry.principal, current.name);
      if (forbidden) {
        refused.set(entry.definition.id, forbidden);
        continue;
      }
      const changed = !sameDefinition(current, entry.definition);
      const [updated] = await tx
        .update(services)
        .set({
          ...(changed ? { ...entry.definition, updatedAt: sql`now()` } : {}),
          lastHeartbeatAt: sql`now()`,
          expiresAt: leaseEnd(entry.definition.ttlMs),
        })
        .where(sql`${services.id} = ${entry.definition.id}`)
        .returning();
      written.set(updated!.id, { instance: updated!, event: changed ? withActor(registeredEvent(updated!, false), entry.actor) : undefined });
    }
    const fresh = pending.filter((entry) => !existing.has(entry.definition.id));
    if (fresh.length === 0) break;
    const created = await tx
      .insert(services)
      .values(fresh.map(({ definition }) => ({ ...definition, lastHeartbeatAt: sql`now()`, expiresAt: leaseEnd(definition.ttlMs) })))
      .onConflictDoNothing({ target: services.id })
      .returning();
    const actors = new Map(fresh.map((entry) => [entry.definition.id, entry.actor]));
    for (const row of created) written.set(row.id, { instance: row, event: withActor(registeredEvent(row, true), actors.get(row.id)) });
    // Another server registered some of these ids meanwhile: go round again, updating theirs.
    pending = fresh.filter((entry) => !written.has(entry.definition.id));
  }

  const events = batch.flatMap((entry) => written.get(entry.definition.id)?.event ?? []);
  const stored = await appendEvents(tx, events);
  const eventIds = new Map(stored.map((event) => [(event.data as { id: string }).id, event.id]));
  return batch.map(
    (entry) =>
      refused.get(entry.definition.id) ?? { instance: written.get(entry.definition.id)!.instance, eventId: eventIds.get(entry.definition.id) ?? 0 },
  );
}

const withActor = (event: NewEvent, actor: EventActor | undefined): NewEvent => ({ ...event, actor: actor ?? null });
