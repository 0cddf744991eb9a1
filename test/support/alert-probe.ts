import { randomBytes } from 'node:crypto';
import type postgres from 'postgres';
import { CreateAlertRuleDocument, DeleteAlertRuleDocument, type SwitchboardClient } from '@switchboard/client';
import { eventually } from './wait.js';

/**
 * Resolves once the alert evaluator has evaluated every rule that exists now, from the state as it
 * is now: how a test says "this rule did not fire" by a fact rather than by a sleep.
 *
 * A probe rule created now (after the rules under test) is a NO_PASSING rule on a service nobody
 * registers, with no receiver: it fires at its first evaluation, which comes in a pass over the
 * rules read after its creation, so over every rule under test too. Its second evaluation (its
 * alert's last_evaluated_at moving past its starts_at) begins a later pass, so that first pass is
 * over. The probe is deleted after (its alert.firing and alert.resolved events stay in the log).
 *
 * `client` must be allowed to write alert rules; `sql` reaches the registry's database.
 */
export async function rulesEvaluated(client: SwitchboardClient, sql: postgres.Sql, timeoutMs = 15_000): Promise<void> {
  const name = `evaluation probe ${randomBytes(4).toString('hex')}`;
  const { createAlertRule: probe } = await client.request(CreateAlertRuleDocument, {
    input: { name, kind: 'NO_PASSING', service: name.replaceAll(' ', '-'), receivers: [] },
  });
  try {
    await eventually(
      async () => {
        const [row] = await sql<{ again: boolean }[]>`select last_evaluated_at > starts_at as again from alerts where rule_id = ${probe.id}`;
        return row?.again ? true : undefined;
      },
      timeoutMs,
      20,
    );
  } finally {
    await client.request(DeleteAlertRuleDocument, { id: probe.id });
  }
}
