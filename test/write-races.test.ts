import { describe, expect, it } from 'vitest';
import { CreateTokenDocument, RegisterHealthCheckDocument, RegisterServiceDocument, ReportCallOutcomeDocument } from '@switchboard/client';
import { instance, SwitchboardRequestError } from './support/client.js';
import { eventually } from './support/wait.js';
import { useServerPair } from './support/nodes.js';

/**
 * Races on one new id, sent at the same moment to two server processes on one database. What
 * the database decides (who registered first) must decide the answers: one wins, the other gets
 * a sentence with a code, never INTERNAL, and the stored state matches the winner.
 */
const ADMIN_TOKEN = 'write-races-admin-token';
const servers = useServerPair({ SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN });
const { clients } = servers;

type Settled = { ok: true } | { ok: false; code: string | undefined; message: string };

async function settle(request: Promise<unknown>): Promise<Settled> {
  try {
    await request;
    return { ok: true };
  } catch (error) {
    if (error instanceof SwitchboardRequestError) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
}

describe('races on one new id across two processes', () => {
  it('the same explicit check id registered on two instances at once: one wins, the other is CONFLICT with a sentence', async () => {
    const onA = clients.create(servers.a.url, ADMIN_TOKEN);
    const onB = clients.create(servers.b.url, ADMIN_TOKEN);
    await onA.request(RegisterServiceDocument, { input: instance({ id: 'check-race-x', name: 'checked' }) });
    await onB.request(RegisterServiceDocument, { input: instance({ id: 'check-race-y', name: 'checked' }) });

    const ROUNDS = 30;
    for (let round = 0; round < ROUNDS; round++) {
      const checkId = `shared-check-${round}`;
      const check = (serviceId: string) => ({ serviceId, check: { id: checkId, ttl: '30s' } });
      const [x, y] = await Promise.all([
        settle(onA.request(RegisterHealthCheckDocument, check('check-race-x'))),
        settle(onB.request(RegisterHealthCheckDocument, check('check-race-y'))),
      ]);
      const outcomes = [x, y];
      expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
      const loser = outcomes.find((outcome) => !outcome.ok) as Extract<Settled, { ok: false }>;
      expect(loser.code).toBe('CONFLICT');
      expect(loser.message).toMatch(/belongs to instance "check-race-[xy]"/);
      const [owner] = await servers.database.sql<{ service_id: string }[]>`select service_id from health_checks where id = ${checkId}`;
      expect(owner!.service_id).toBe(x.ok ? 'check-race-x' : 'check-race-y');
    }
  });

  it('two prefix-limited tokens registering one new id at once: at most one wins, the other is FORBIDDEN, the owner is the winner', async () => {
    const admin = clients.create(servers.a.url, ADMIN_TOKEN);
    const token = async (prefix: string) =>
      (await admin.request(CreateTokenDocument, { input: { name: `${prefix}-writer`, scopes: ['WRITE'], servicePrefix: prefix } })).createToken.token;
    const alpha = clients.create(servers.a.url, await token('alpha'));
    const beta = clients.create(servers.b.url, await token('beta'));

    const ROUNDS = 40;
    const wins = { alpha: 0, beta: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const id = `contested-${round}`;
      const [byAlpha, byBeta] = await Promise.all([
        settle(alpha.request(RegisterServiceDocument, { input: instance({ id, name: 'alpha-api' }) })),
        settle(beta.request(RegisterServiceDocument, { input: instance({ id, name: 'beta-api' }) })),
      ]);
      expect([byAlpha, byBeta].filter((outcome) => outcome.ok)).toHaveLength(1);
      for (const outcome of [byAlpha, byBeta]) if (!outcome.ok) expect(outcome.code).toBe('FORBIDDEN');
      const [row] = await servers.database.sql<{ name: string }[]>`select name from services where id = ${id}`;
      expect(row!.name).toBe(byAlpha.ok ? 'alpha-api' : 'beta-api');
      wins[byAlpha.ok ? 'alpha' : 'beta'] += 1;
    }
    // Both sides won some rounds: the race was real, not one server always first.
    console.info(`prefix race: alpha won ${wins.alpha}, beta won ${wins.beta} of ${ROUNDS}`);
  });

  it('a call outcome is refused when the instance changed hands while the report waited for its row', async () => {
    const admin = clients.create(servers.a.url, ADMIN_TOKEN);
    const alphaToken = (await admin.request(CreateTokenDocument, { input: { name: 'alpha-reporter', scopes: ['WRITE'], servicePrefix: 'alpha' } })).createToken
      .token;
    const alpha = clients.create(servers.a.url, alphaToken);
    await admin.request(RegisterServiceDocument, { input: instance({ id: 'handed-over-1', name: 'alpha-api' }) });

    // Plainly: a token may not feed the breaker of an instance outside its prefix.
    await admin.request(RegisterServiceDocument, { input: instance({ id: 'other-1', name: 'beta-api' }) });
    expect(await settle(alpha.request(ReportCallOutcomeDocument, { id: 'other-1', success: false }))).toMatchObject({ ok: false, code: 'FORBIDDEN' });

    // The race: the instance is renamed (to a name alpha may not write) while the report waits for its row.
    let report: Promise<Settled> | undefined;
    await servers.database.sql.begin(async (tx) => {
      await tx`select 1 from services where id = 'handed-over-1' for update`;
      report = settle(alpha.request(ReportCallOutcomeDocument, { id: 'handed-over-1', success: false }));
      await eventually(async () => {
        const [waiting] = await servers.database.sql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`;
        return waiting;
      });
      await tx`update services set name = 'beta-api' where id = 'handed-over-1'`;
    });
    expect(await report).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    // Neither report was counted.
    const counted = await servers.database.sql`select service_id from circuit_breakers where service_id in ('handed-over-1', 'other-1') and calls > 0`;
    expect(counted).toHaveLength(0);
  });
});
