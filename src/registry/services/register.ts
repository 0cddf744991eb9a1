import { eq, sql } from 'drizzle-orm';
import { badInput, SwitchboardError, type EventActor, type ServiceDefinitionInput } from '@switchboard/contracts';
import type { Db, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { currentActor } from '../../events/actor.js';
import { appendEvents } from '../../events/append.js';
import type { NewEvent } from '../../events/types.js';
import { assertCanWriteService, assertMayAddChecks, instanceChangeRefusal, type Principal } from '../access/principal.js';
import { removeChecksNotIn, upsertChecks } from '../health/checks.js';
import { parseCheckDefinition, type CheckPolicy, type NewCheck } from '../health/definition.js';
import { worstStatus } from '../health/model.js';
import type { ServiceInstance } from '../instances/model.js';
import { lockOrInsert, sameDefinition, type LockedRow } from '../upsert.js';
import { parseServiceDefinition, type ServiceDefinition } from './definition.js';
import type { SessionBinding } from './ephemeral.js';
import { registeredEvent } from './events.js';

/** The TTL lease's end, computed by the database so every node agrees on "now". */
const leaseEnd = (ttlMs: number | null) => (ttlMs === null ? null : sql`now() + ${ttlMs}::int * interval '1 millisecond'`);

/** A registration, validated, with whom it is written for. */
export interface Registration {
  definition: ServiceDefinition;
  /** Checks to add or update with the instance. */
  checks: readonly NewCheck[];
  /** Remove the instance's checks that `checks` does not name (replaceExistingChecks). */
  replaceChecks: boolean;
  /** Who registers: checked against the instance's owner under its row lock. */
  principal: Principal;
  /** Who the events name: captured at the call, since a group-committed batch runs outside every request. */
  actor: EventActor | undefined;
  /** Ephemeral: the session whose connection keeps the instance (see ephemeral.ts); null: an ordinary instance. */
  sessionId: string | null;
}

export interface WrittenRegistration {
  instance: ServiceInstance;
  /** Its newest event's id; 0 when it recorded none. */
  eventId: number;
}

/** A registration's outcome in its batch: written, or refused alone (the others go on). */
export type RegistrationAnswer = WrittenRegistration | SwitchboardError;

/**
 * Validates a registration before any write, so a bad definition or check fails alone
 * and at once, and refuses a name the principal may not write. With a session, the
 * instance is ephemeral: its lease is the session's grace period, renewed by the server
 * the session is connected to, so a `ttl` of its own would mean nothing and is refused.
 */
export function parseRegistration(input: ServiceDefinitionInput, policy: CheckPolicy, principal: Principal, session?: SessionBinding): Registration {
  if (session && input.ttlMs != null) {
    const message = 'an ephemeral instance is leased by its connection, not by heartbeats: leave ttl out';
    throw badInput(`Invalid service definition: ${message}.`, { issues: [{ field: 'ttl', message }] });
  }
  const parsed = parseServiceDefinition(input);
  const definition = session ? { ...parsed, ttlMs: session.graceMs } : parsed;
  const checks = (input.healthChecks ?? []).map((check) => parseCheckDefinition(definition.id, check, policy));
  // A new id is the name's (who may take over an existing one is decided under its row lock, in writeRegistrations).
  assertCanWriteService(principal, definition.name);
  assertMayAddChecks(principal, input.healthChecks ?? []);
  return {
    definition,
    checks,
    replaceChecks: Boolean(input.replaceExistingChecks),
    principal,
    actor: currentActor(),
    sessionId: session?.id ?? null,
  };
}

/**
 * Registers an instance in a transaction of its own: writeRegistrations for one (the
 * RegistrationWriter groups concurrent ones into shared transactions instead).
 */
export async function registerService(db: Db, input: ServiceDefinitionInput, policy: CheckPolicy, principal: Principal): Promise<ServiceInstance> {
  const registration = parseRegistration(input, policy, principal);
  const [answer] = await runTransaction(db, (tx) => writeRegistrations(tx, [registration]));
  if (answer instanceof SwitchboardError) throw answer;
  return answer!.instance;
}

/**
 * The one write path of registrations, for any number of them (distinct ids), in the
 * caller's transaction; answers in the batch's order. Each instance is upserted, which
 * also renews its TTL lease, like a heartbeat; its checks are added or updated by id
 * (the others stay, unless `replaceChecks` removes them).
 *
 * Re-registering an unchanged definition records no event: agents re-register on every
 * restart and periodically, and watchers should not wake for nothing (Consul skips such
 * no-op writes too). Rows are locked in id order, so two servers' batches cannot deadlock.
 * All the events are appended last, in one statement: each registration's own event,
 * then its checks' health events.
 */
export async function writeRegistrations(tx: Tx, batch: readonly Registration[]): Promise<RegistrationAnswer[]> {
  if (batch.length === 0) return [];
  const locked = await lockOrInsert(
    tx,
    services,
    batch.map(({ definition, sessionId, checks }) => ({
      ...definition,
      sessionId,
      // A new instance is inserted with the status its checks start with, so no state of it, not even the row
      // its health changes count from, says PASSING before a check passed. (An existing row is only locked.)
      checkStatus: worstStatus(checks.map((check) => check.initialStatus)),
      lastHeartbeatAt: sql`now()`,
      expiresAt: leaseEnd(definition.ttlMs),
    })),
  );
  const outcomes = new Map<string, { instance: ServiceInstance; events: NewEvent[] } | SwitchboardError>();
  // In id order, as the instances were locked: their checks are then locked in that order too.
  for (const registration of [...batch].sort((a, b) => (a.definition.id < b.definition.id ? -1 : 1))) {
    outcomes.set(registration.definition.id, await writeRegistration(tx, registration, locked.get(registration.definition.id)!));
  }

  const written = batch.map((registration) => outcomes.get(registration.definition.id)!);
  const stored = await appendEvents(
    tx,
    written.flatMap((outcome) => (outcome instanceof SwitchboardError ? [] : outcome.events)),
  );
  let appended = 0;
  return written.map((outcome) => {
    if (outcome instanceof SwitchboardError) return outcome;
    appended += outcome.events.length;
    return { instance: outcome.instance, eventId: outcome.events.length > 0 ? stored[appended - 1]!.id : 0 };
  });
}

/**
 * One registration, its instance row locked (and just inserted when `created`); its events are returned, not appended.
 *
 * The `service.registered` event is built last, from the row as this transaction leaves it (checks added and
 * removed): the very object the caller answers with. The event is what every push (serviceChanged,
 * instancesChanged) and every server's in-memory catalog are made of, so answer, event, pushes and the next read
 * are one state. Built before the checks were written, it said PASSING for an instance whose new check was
 * CRITICAL, and the SDK's cache believed it. It still comes first among the events: a
 * subscriber learns of the instance before its checks' health changes.
 */
async function writeRegistration(
  tx: Tx,
  registration: Registration,
  { row, created }: LockedRow<ServiceInstance>,
): Promise<{ instance: ServiceInstance; events: NewEvent[] } | SwitchboardError> {
  const { definition, checks } = registration;
  const healthEvents: NewEvent[] = [];
  let instance = row;
  let recorded = created;
  if (!created) {
    // Under the row lock: a token may not take over an id registered under another name, nor one a source follows.
    const refused = instanceChangeRefusal(registration.principal, row);
    if (refused) return refused;
    const changed = !sameDefinition(row, definition);
    // The session is not part of the definition: a client re-registering from a new session
    // (say, after a restart) moves the binding without an event; an ordinary registration unbinds.
    const [updated] = await tx
      .update(services)
      .set({
        ...(changed ? { ...definition, updatedAt: sql`now()` } : {}),
        sessionId: registration.sessionId,
        lastHeartbeatAt: sql`now()`,
        expiresAt: leaseEnd(definition.ttlMs),
      })
      .where(eq(services.id, definition.id))
      .returning();
    instance = updated!;
    recorded = changed;
  }
  // `instance` is the row this transaction just wrote: it holds the row lock the check writes need.
  if (checks.length > 0) instance = (await upsertChecks(tx, instance, checks, healthEvents)).instance;
  if (registration.replaceChecks)
    instance = await removeChecksNotIn(
      tx,
      instance,
      checks.map((check) => check.id),
      healthEvents,
    );
  const events = [...(recorded ? [registeredEvent(instance, created)] : []), ...healthEvents];
  return { instance, events: events.map((event) => ({ ...event, actor: registration.actor ?? null })) };
}
