import { eq, sql, type SQL } from 'drizzle-orm';
import { badInput, notFound, textFaults, type SwitchboardError } from '@switchboard/contracts';
import type { Db, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { healthChecks } from '../../db/schema/index.js';
import { withOutbox } from '../../events/append.js';
import { pgTextArray } from '../../events/read.js';
import type { NewEvent } from '../../events/types.js';
import { assertMayChangeInstance, type Principal } from '../access/principal.js';
import { lockInstance } from '../instances/lock.js';
import type { ServiceInstance } from '../instances/model.js';
import { capOutput, type CheckStatus, type HealthCheck } from './model.js';
import { recordHealthChange } from './transitions.js';

export interface TtlUpdate {
  status: CheckStatus | 'UNKNOWN';
  output?: string | null | undefined;
}

/**
 * Sets a TTL check's status (how a service reports its own health), valid for the
 * check's TTL; once that lapses without another update the worker marks it
 * critical. Updates take effect at once (no hysteresis), as in Consul, and cancel
 * a lapse that a worker may be recording at this very moment (its claim is voided).
 */
export async function updateTtlCheck(db: Db, checkId: string, update: TtlUpdate, principal: Principal): Promise<HealthCheck> {
  if (update.status === 'UNKNOWN') throw badInput('A TTL check can be set PASSING, WARNING or CRITICAL.', { field: 'status' });
  const status = update.status;
  const output = ttlOutput(update.output);
  return runTransaction(db, async (tx) => {
    // A check never moves to another instance, so this unlocked read names the instance to lock;
    // everything the update depends on (its kind, its status) is read again, locked.
    const [found] = await tx.select({ serviceId: healthChecks.serviceId }).from(healthChecks).where(eq(healthChecks.id, checkId));
    if (!found) throw notFound('Health check', checkId);
    // The instance goes with its checks (cascade): gone here means the check is gone too.
    const instance = await lockInstance(tx, found.serviceId);
    if (!instance) throw notFound('Health check', checkId);
    assertMayChangeInstance(principal, instance);
    const [previous] = await tx.select().from(healthChecks).where(eq(healthChecks.id, checkId)).for('update');
    if (!previous) throw notFound('Health check', checkId);
    if (previous.kind !== 'TTL') throw notTtl(checkId, previous.kind);
    const [updated] = await tx
      .update(healthChecks)
      .set(ttlRefresh(status, output, previous.status))
      .where(eq(healthChecks.id, checkId))
      .returning();
    if (updated!.status !== previous.status) {
      await withOutbox(tx, (outbox) =>
        recordHealthChange(tx, instance, { checkId, checkName: updated!.name, from: previous.status, to: updated!.status, output }, outbox),
      );
    }
    return updated!;
  });
}

/**
 * A heartbeat also passes every TTL check of the instance (the caller has locked the
 * instance). Health events go to `outbox`, for the caller to append last. `times`: how
 * many heartbeats this write stands for (a batch renews an instance once for all of them).
 */
export async function passTtlChecks(tx: Tx, instance: ServiceInstance, outbox: NewEvent[], times = 1): Promise<ServiceInstance> {
  const previous = await tx
    .select({ id: healthChecks.id, name: healthChecks.name, status: healthChecks.status })
    .from(healthChecks)
    .where(sql`${healthChecks.serviceId} = ${instance.id} and ${healthChecks.kind} = 'TTL'`)
    .orderBy(healthChecks.id)
    .for('update');
  let current = instance;
  for (const check of previous) {
    await tx
      .update(healthChecks)
      .set(ttlRefresh('PASSING', HEARTBEAT_OUTPUT, check.status, times))
      .where(eq(healthChecks.id, check.id));
    if (check.status !== 'PASSING') {
      current = await recordHealthChange(
        tx,
        current,
        { checkId: check.id, checkName: check.name, from: check.status, to: 'PASSING', output: HEARTBEAT_OUTPUT },
        outbox,
      );
    }
  }
  return current;
}

const HEARTBEAT_OUTPUT = 'Heartbeat received.';

/**
 * The common case of a batch of heartbeats, in one statement: the TTL checks of instances
 * whose TTL checks all pass are refreshed (no status moves, so no event and no history).
 * Returns the instances with a TTL check not passing: passTtlChecks turns those, one
 * instance at a time, with their events. `renewals`: instance id → heartbeats it stands for.
 * The caller holds the instances' row locks, under which no check changes status; the
 * checks are locked in id order, as every multi-row write here locks its rows.
 */
export async function refreshPassingTtlChecks(tx: Tx, renewals: ReadonlyMap<string, number>): Promise<Set<string>> {
  if (renewals.size === 0) return new Set();
  const rows = await tx.execute<{ service_id: string }>(sql`
    with r as (
      select * from jsonb_to_recordset(${JSON.stringify([...renewals].map(([id, n]) => ({ id, n })))}::jsonb) as r(id text, n int)
    ),
    pending as (
      select distinct c.service_id from health_checks c join r on c.service_id = r.id
      where c.kind = 'TTL' and c.status <> 'PASSING'
    ),
    targets as (
      select c.id, r.n from health_checks c join r on c.service_id = r.id
      where c.kind = 'TTL' and c.status = 'PASSING' and c.service_id not in (select service_id from pending)
      order by c.id
      for update of c
    ),
    refreshed as (
      update health_checks c
      set ${passingRefresh(sql`${HEARTBEAT_OUTPUT}::text`, sql`t.n`)}
      from targets t
      where c.id = t.id
    )
    select service_id from pending`);
  return new Set(rows.map((row) => row.service_id));
}

/** A pass of one TTL check (agent/check/pass), validated; `times`: how many passes it stands for. */
export interface TtlPass {
  checkId: string;
  output: string;
  times: number;
}

/** A TTL check update's output, validated (before a pass joins a batch, too). */
export function ttlOutput(output: string | null | undefined): string {
  const capped = capOutput(output ?? '');
  if (textFaults(capped).length > 0) throw badInput('output must be valid Unicode text without NUL characters.', { field: 'output' });
  return capped;
}

/** The instance each of `checkIds` belongs to, read without a lock (a check never moves to another instance). */
export async function checkOwners(tx: Tx, checkIds: readonly string[]): Promise<Map<string, string>> {
  if (checkIds.length === 0) return new Map();
  const rows = await tx
    .select({ id: healthChecks.id, serviceId: healthChecks.serviceId })
    .from(healthChecks)
    .where(sql`${healthChecks.id} = any(${pgTextArray(checkIds)}::text[])`);
  return new Map(rows.map((row) => [row.id, row.serviceId]));
}

/**
 * Passes TTL checks by id, for a batch (the caller holds their instances' row locks): the
 * checks are locked again (in id order), read as locked; the passing ones are refreshed in one
 * statement, without events, and the others turn PASSING with their events in `outbox`.
 * Answers per check: undefined when passed, else why not (gone: NOT_FOUND; not a TTL check).
 */
export async function passTtlChecksById(
  tx: Tx,
  passes: readonly TtlPass[],
  /** The instances, locked; updated here as their health changes. */
  instances: Map<string, ServiceInstance>,
  outbox: (checkId: string) => NewEvent[],
): Promise<Map<string, SwitchboardError | undefined>> {
  const answers = new Map<string, SwitchboardError | undefined>();
  if (passes.length === 0) return answers;
  const locked = await tx
    .select({ id: healthChecks.id, serviceId: healthChecks.serviceId, name: healthChecks.name, kind: healthChecks.kind, status: healthChecks.status })
    .from(healthChecks)
    .where(sql`${healthChecks.id} = any(${pgTextArray(passes.map((pass) => pass.checkId))}::text[])`)
    .orderBy(healthChecks.id)
    .for('update');
  const checks = new Map(locked.map((check) => [check.id, check]));
  const routine: TtlPass[] = [];
  for (const pass of passes) {
    const check = checks.get(pass.checkId);
    const instance = check && instances.get(check.serviceId);
    if (!check || !instance) answers.set(pass.checkId, notFound('Health check', pass.checkId));
    else if (check.kind !== 'TTL') answers.set(pass.checkId, notTtl(pass.checkId, check.kind));
    else {
      answers.set(pass.checkId, undefined);
      if (check.status === 'PASSING') routine.push(pass);
    }
  }
  if (routine.length > 0) {
    await tx.execute(sql`
      update health_checks c
      set ${passingRefresh(sql`r.output`, sql`r.n`)}
      from jsonb_to_recordset(${JSON.stringify(routine.map((pass) => ({ id: pass.checkId, output: pass.output, n: pass.times })))}::jsonb)
        as r(id text, output text, n int)
      where c.id = r.id`);
  }
  // The rest turn PASSING: rare (after a lapse, or a first pass), each with its event.
  for (const pass of passes) {
    const check = checks.get(pass.checkId);
    if (answers.get(pass.checkId) !== undefined || !check || check.status === 'PASSING') continue;
    await tx
      .update(healthChecks)
      .set(ttlRefresh('PASSING', pass.output, check.status, pass.times))
      .where(eq(healthChecks.id, check.id));
    const after = await recordHealthChange(
      tx,
      instances.get(check.serviceId)!,
      { checkId: check.id, checkName: check.name, from: check.status, to: 'PASSING', output: pass.output },
      outbox(check.id),
    );
    instances.set(after.id, after);
  }
  return answers;
}

const notTtl = (checkId: string, kind: string) => badInput(`Health check "${checkId}" is a ${kind} check; only TTL checks take updates.`, { field: 'checkId' });

/** ttlRefresh for PASSING on a check already passing, in SQL over a batch: `n` passes at once. */
function passingRefresh(output: SQL, n: SQL): SQL {
  return sql`output = ${output},
        next_run_at = now() + c.ttl_ms * interval '1 millisecond',
        last_check_at = now(),
        check_count = c.check_count + ${n},
        consecutive_successes = c.consecutive_successes + ${n},
        consecutive_failures = 0,
        locked_by = null,
        locked_until = null`;
}

function ttlRefresh(status: CheckStatus, output: string, previous: CheckStatus, times = 1) {
  const changed = status !== previous;
  return {
    status,
    output,
    nextRunAt: sql`now() + ${healthChecks.ttlMs} * interval '1 millisecond'`,
    lastCheckAt: sql`now()`,
    checkCount: sql`${healthChecks.checkCount} + ${times}::int`,
    failureCount: status === 'PASSING' ? sql`${healthChecks.failureCount}` : sql`${healthChecks.failureCount} + 1`,
    consecutiveSuccesses: status === 'PASSING' ? sql`${healthChecks.consecutiveSuccesses} + ${times}::int` : 0,
    consecutiveFailures: status === 'PASSING' ? 0 : sql`${healthChecks.consecutiveFailures} + 1`,
    ...(changed ? { statusChangedAt: sql`now()`, criticalSince: status === 'CRITICAL' ? sql`now()` : null } : {}),
    // Void any claim: a worker about to record a lapse must not overwrite this update.
    lockedBy: null,
    lockedUntil: null,
  };
}
