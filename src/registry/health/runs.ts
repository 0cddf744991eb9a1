import { asc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { healthChecks, services } from '../../db/schema/index.js';
import { withOutbox } from '../../events/append.js';
import type { Evaluation, HealthCheck, ProbeResult } from './model.js';
import { recordHealthChanges, type PendingHealthChange } from './transitions.js';

/** What a worker needs of a claimed check: how to probe it, and its state for evaluation. */
export type ClaimedCheck = Pick<
  HealthCheck,
  | 'id'
  | 'serviceId'
  | 'name'
  | 'target'
  | 'timeoutMs'
  | 'ttlMs'
  | 'status'
  | 'consecutiveSuccesses'
  | 'consecutiveFailures'
  | 'successBeforePassing'
  | 'failuresBeforeCritical'
> & {
  /** When it was due (epoch ms), to measure scheduling lag. */
  dueAtMs: number;
};

export interface ClaimOptions {
  limit: number;
  /** Workers without script checks enabled leave them to workers that have. */
  includeScripts: boolean;
  /** Extra claim time past the probe timeout, for writing the result back. */
  graceMs: number;
}

interface ClaimedRow {
  id: string;
  service_id: string;
  name: string;
  target: HealthCheck['target'];
  timeout_ms: number;
  ttl_ms: number | null;
  status: HealthCheck['status'];
  consecutive_successes: number;
  consecutive_failures: number;
  success_before_passing: number;
  failures_before_critical: number;
  due_ms: number;
}

/**
 * Claims due checks in one statement: pick the oldest due checks whose claim is
 * free or expired (SKIP LOCKED: concurrent workers take different rows rather than
 * queueing), claim them (locked_by, locked_until), and move each to its next slot,
 * one interval on. A check further behind than one interval skips ahead instead of
 * firing in a burst. A crashed worker's claims simply expire and the checks are due again.
 *
 * Hand-written and hand-mapped: at thousands of checks a second this is the hot
 * path, and it returns only what a probe and its evaluation need.
 */
export async function claimDueChecks(db: Db, workerId: string, options: ClaimOptions): Promise<ClaimedCheck[]> {
  const rows = await db.execute<ClaimedRow & Record<string, unknown>>(sql`
    with due as (
      select id, next_run_at as due_at
      from health_checks
      where next_run_at <= now()
        and (locked_until is null or locked_until < now())
        and (${options.includeScripts}::boolean or kind <> 'SCRIPT')
      order by next_run_at
      limit ${options.limit}::int
      for update skip locked
    )
    update health_checks c
    set locked_by = ${workerId}::text,
        locked_until = now() + (c.timeout_ms + ${options.graceMs}::int) * interval '1 millisecond',
        next_run_at = case
          when c.next_run_at + c.interval_ms * interval '1 millisecond' > now() then c.next_run_at + c.interval_ms * interval '1 millisecond'
          else now() + c.interval_ms * interval '1 millisecond'
        end
    from due
    where c.id = due.id
    returning c.id, c.service_id, c.name, c.target, c.timeout_ms, c.ttl_ms, c.status,
              c.consecutive_successes, c.consecutive_failures, c.success_before_passing, c.failures_before_critical,
              (extract(epoch from due.due_at) * 1000)::float8 as due_ms
  `);
  return rows.map((row) => ({
    id: row.id,
    serviceId: row.service_id,
    name: row.name,
    target: row.target,
    timeoutMs: row.timeout_ms,
    ttlMs: row.ttl_ms,
    status: row.status,
    consecutiveSuccesses: row.consecutive_successes,
    consecutiveFailures: row.consecutive_failures,
    successBeforePassing: row.success_before_passing,
    failuresBeforeCritical: row.failures_before_critical,
    dueAtMs: row.due_ms,
  }));
}

/** Milliseconds until the next check falls due (negative: one is due now); undefined when there are none. */
export async function millisUntilNextDue(db: Db, includeScripts: boolean): Promise<number | undefined> {
  const [row] = await db
    .select({ ms: sql<number | null>`extract(epoch from min(${healthChecks.nextRunAt}) - now()) * 1000` })
    .from(healthChecks)
    .where(includeScripts ? undefined : ne(healthChecks.kind, 'SCRIPT'));
  return row?.ms == null ? undefined : Number(row.ms);
}

/** A run that did not change the check's status: only counters and the latest output. */
export interface RoutineRun {
  id: string;
  failed: boolean;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  output: string;
  checkedAt: Date;
}

/**
 * Writes a batch of routine runs in one statement and releases their claims: no
 * event, no history, no aggregate (nothing a watcher would act on changed). Rows
 * whose claim this worker no longer holds are left alone.
 */
export async function recordRoutineRuns(db: Db, workerId: string, runs: readonly RoutineRun[]): Promise<void> {
  if (runs.length === 0) return;
  await db.execute(sql`
    update health_checks c
    set check_count = c.check_count + 1,
        failure_count = c.failure_count + case when r.failed then 1 else 0 end,
        consecutive_successes = r.successes,
        consecutive_failures = r.failures,
        output = r.output,
        last_check_at = r.checked_at,
        locked_by = null,
        locked_until = null
    from jsonb_to_recordset(${JSON.stringify(
      runs.map((run) => ({
        id: run.id,
        failed: run.failed,
        successes: run.consecutiveSuccesses,
        failures: run.consecutiveFailures,
        output: run.output,
        checked_at: run.checkedAt.toISOString(),
      })),
    )}::jsonb) as r(id text, failed boolean, successes int, failures int, output text, checked_at timestamptz)
    where c.id = r.id and c.locked_by = ${workerId}::text
  `);
}

/** A run that changed the check's status. */
export interface TransitionRun {
  check: ClaimedCheck;
  evaluation: Evaluation;
  result: ProbeResult;
  checkedAt: Date;
}

/**
 * Writes a batch of runs that changed their check's status, in one transaction of
 * a fixed number of statements: lock the instances (in id order, so two workers
 * never deadlock), write the checks this worker still holds the claim on, then
 * refresh the instances' aggregates, history and events together. Returns how
 * many were written (a lost claim means another worker or a TTL update got there
 * first, and this result is stale).
 */
export async function recordTransitions(db: Db, workerId: string, runs: readonly TransitionRun[]): Promise<number> {
  if (runs.length === 0) return 0;
  return runTransaction(db, async (tx) => {
    const serviceIds = [...new Set(runs.map((run) => run.check.serviceId))].sort();
    const instances = new Map(
      (await tx.select().from(services).where(inArray(services.id, serviceIds)).orderBy(asc(services.id)).for('update')).map((row) => [row.id, row]),
    );
    const written = await tx.execute<{ id: string }>(sql`
      update health_checks c
      set status = r.status,
          output = r.output,
          consecutive_successes = r.successes,
          consecutive_failures = r.failures,
          check_count = c.check_count + 1,
          failure_count = c.failure_count + case when r.failed then 1 else 0 end,
          last_check_at = r.checked_at,
          status_changed_at = now(),
          critical_since = case when r.status = 'CRITICAL' then now() end,
          locked_by = null,
          locked_until = null
      from jsonb_to_recordset(${JSON.stringify(
        runs.map((run) => ({
          id: run.check.id,
          status: run.evaluation.status,
          output: run.result.output,
          successes: run.evaluation.consecutiveSuccesses,
          failures: run.evaluation.consecutiveFailures,
          failed: run.result.status !== 'PASSING',
          checked_at: run.checkedAt.toISOString(),
        })),
      )}::jsonb) as r(id text, status text, output text, successes int, failures int, failed boolean, checked_at timestamptz)
      where c.id = r.id and c.locked_by = ${workerId}::text
      returning c.id`);
    const kept = new Set(written.map((row) => row.id));
    const changes: PendingHealthChange[] = runs
      .filter((run) => kept.has(run.check.id) && instances.has(run.check.serviceId))
      .map((run) => ({
        before: instances.get(run.check.serviceId)!,
        change: { checkId: run.check.id, checkName: run.check.name, from: run.check.status, to: run.evaluation.status, output: run.result.output },
      }));
    await withOutbox(tx, (outbox) => recordHealthChanges(tx, changes, outbox));
    return kept.size;
  });
}

/** On shutdown: hand back every claim this worker still holds, so others need not wait for expiry. */
export async function releaseClaims(db: Db, workerId: string): Promise<void> {
  await db.update(healthChecks).set({ lockedBy: null, lockedUntil: null }).where(eq(healthChecks.lockedBy, workerId));
}
