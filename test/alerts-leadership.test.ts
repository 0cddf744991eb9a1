import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEvent } from '../src/registry/custom-events/publish.js';
import { createAlertRule, EVALUATOR_ROLE, evaluateRule, LeadershipLost, listAlerts } from '../src/registry/alerts/index.js';
import { acquireLeadership, releaseLeadership } from '../src/registry/leadership/index.js';
import { TargetPolicy } from '../src/registry/health/policy.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { eventually, sleep } from './support/wait.js';
import { SYSTEM_PRINCIPAL } from '../src/registry/access/index.js';

/**
 * The evaluator leadership on a real database: one holder at a time, taken over only once it
 * lapses, and a process that does not hold it cannot write an alert transition.
 */
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const ROLE = 'test-role';

describe('the evaluator leadership', () => {
  it('has one holder; the other takes it only once it lapses, and the old holder cannot renew then', async () => {
    expect(await acquireLeadership(database.db, ROLE, 'a', 500)).toBe(true);
    expect(await acquireLeadership(database.db, ROLE, 'b', 500)).toBe(false);
    expect(await acquireLeadership(database.db, ROLE, 'a', 500)).toBe(true); // renewal
    // The renewal runs 500ms from its own moment: by the database's clock, no longer.
    const [lease] = await database.sql<
      { within: boolean }[]
    >`select expires_at <= now() + interval '500 milliseconds' as within from leaders where name = ${ROLE}`;
    expect(lease?.within).toBe(true);
    await sleep(150); // time passing is the subject, well within the 500ms lease: nothing changes hands
    expect(await acquireLeadership(database.db, ROLE, 'b', 500)).toBe(false); // renewed 150ms ago: still a's
    // The lease lapses by the database's clock (the one acquireLeadership compares with).
    await eventually(
      async () => {
        const [row] = await database.sql<{ lapsed: boolean }[]>`select expires_at < now() as lapsed from leaders where name = ${ROLE}`;
        return row?.lapsed ? true : undefined;
      },
      5_000,
      20,
    );
    expect(await acquireLeadership(database.db, ROLE, 'b', 500)).toBe(true); // lapsed
    expect(await acquireLeadership(database.db, ROLE, 'a', 500)).toBe(false);
    await releaseLeadership(database.db, ROLE, 'b');
    expect(await acquireLeadership(database.db, ROLE, 'a', 500)).toBe(true); // handed back at once
  });

  it('many processes racing for a free role: exactly one gets it', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => acquireLeadership(database.db, 'race', `p${i}`, 10_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("an evaluation by a process that does not lead writes nothing; the holder's writes one transition", async () => {
    const rule = await createAlertRule(
      database.db,
      { name: 'fenced', kind: 'EVENT_SEEN', eventType: 'fence.test' },
      new TargetPolicy(undefined),
      SYSTEM_PRINCIPAL,
    );
    await publishEvent(database.db, { type: 'fence.test', source: 'test' }, SYSTEM_PRINCIPAL);
    expect(await acquireLeadership(database.db, EVALUATOR_ROLE, 'holder', 10_000)).toBe(true);

    await expect(evaluateRule(database.db, rule.id, { holder: 'intruder', externalUrl: 'http://x' })).rejects.toBeInstanceOf(LeadershipLost);
    expect(await listAlerts(database.db, { ruleId: rule.id })).toEqual([]);

    const result = await evaluateRule(database.db, rule.id, { holder: 'holder', externalUrl: 'http://x' });
    expect(result?.transitions).toBe(1);
    expect((await listAlerts(database.db, { ruleId: rule.id })).map((alert) => alert.state)).toEqual(['FIRING']);
    // Evaluating again finds nothing new to do.
    expect((await evaluateRule(database.db, rule.id, { holder: 'holder', externalUrl: 'http://x' }))?.transitions).toBe(0);
    const [row] = await database.sql<{ count: number }[]>`select count(*)::int as count from events where type = 'alert.firing'`;
    expect(row!.count).toBe(1);
  });
});
