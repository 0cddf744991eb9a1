import { inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { services } from '../../db/schema.js';
import { currentActor, noteAppended, type EventActor } from '../../events/actor.js';
import { appendEvents } from '../../events/append.js';
import type { NewEvent } from '../../events/types.js';
import type { CheckPolicy } from '../health/definition.js';
import { GroupCommit, type Queued } from '../group-commit.js';
import { parseServiceDefinition, type ServiceDefinition, type ServiceDefinitionInput } from './definition.js';
import { registeredEvent } from './events.js';
import type { ServiceInstance } from './model.js';
import { leaseEnd, registerService, sameDefinition } from './register.js';

interface Registration {
  definition: ServiceDefinition;
  actor: EventActor | undefined;
}

interface Written {
  instance: ServiceInstance;
  eventId: number;
}

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
 * one by one, so one bad registration cannot fail the others.
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

  /** Registers (upserts) an instance; resolves once it is committed. */
  async register(input: ServiceDefinitionInput): Promise<ServiceInstance> {
    if ((input.healthChecks ?? []).length > 0 || input.replaceExistingChecks) return registerService(this.db, input, this.policy);
    // Validated here, so a bad definition fails alone, before it joins a batch.
    const definition = parseServiceDefinition(input);
    const { instance, eventId } = await this.batches.submit({ definition, actor: currentActor() });
    noteAppended(eventId);
    return instance;
  }

  /** Resolves when every registration queued so far is written. */
  flush(): Promise<void> {
    return this.batches.flush();
  }

  private async write(batch: readonly Pending[]): Promise<void> {
    try {
      const results = await this.db.transaction((tx) => writeBatch(tx, batch.map((entry) => entry.item)));
      batch.forEach((entry, index) => entry.resolve(results[index]!));
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      else await this.oneByOne(batch);
    }
  }

  private async oneByOne(batch: readonly Pending[]): Promise<void> {
    for (const entry of batch) {
      try {
        const [result] = await this.db.transaction((tx) => writeBatch(tx, [entry.item]));
        entry.resolve(result!);
      } catch (error) {
        entry.reject(error);
      }
    }
  }
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
async function writeBatch(tx: Tx, batch: readonly Registration[]): Promise<Written[]> {
  const written = new Map<string, { instance: ServiceInstance; event: NewEvent | undefined }>();
  let pending = [...batch].sort((a, b) => (a.definition.id < b.definition.id ? -1 : 1));
  while (pending.length > 0) {
    const ids = pending.map((entry) => entry.definition.id);
    const existing = new Map(
      (await tx.select().from(services).where(inArray(services.id, ids)).orderBy(services.id).for('update')).map((row) => [row.id, row]),
    );
    for (const entry of pending) {
      const current = existing.get(entry.definition.id);
      if (!current) continue;
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

  const events = batch.flatMap((entry) => written.get(entry.definition.id)!.event ?? []);
  const stored = await appendEvents(tx, events);
  const eventIds = new Map(stored.map((event) => [(event.data as { id: string }).id, event.id]));
  return batch.map((entry) => ({ instance: written.get(entry.definition.id)!.instance, eventId: eventIds.get(entry.definition.id) ?? 0 }));
}

const withActor = (event: NewEvent, actor: EventActor | undefined): NewEvent => ({ ...event, actor: actor ?? null });
