import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/settings.js';
import { connectDatabase, type Database } from '../src/db/client.js';
import { publishEvent } from '../src/registry/custom-events/publish.js';
import { registerComponent, unregisterComponent } from '../src/registry/components/index.js';
import { deleteConfig, rollbackConfig, setConfig } from '../src/registry/config/index.js';
import { deregisterHealthCheck, registerHealthCheck, setMaintenance, updateTtlCheck } from '../src/registry/health/index.js';
import { heartbeat, registerService, RegistrationWriter, unregisterService, updateWeight } from '../src/registry/services/index.js';
import { createToken, revokeToken } from '../src/registry/tokens/index.js';
import { registrySettingsFrom } from '../src/server/node.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { SYSTEM_PRINCIPAL } from '../src/registry/access/index.js';

/**
 * appendEvents takes the cluster-wide append lock and holds it until commit: every statement run
 * after it in the same transaction makes every other writer in the cluster wait that much longer.
 * This records the statements each domain write sends and checks that the append is followed by
 * COMMIT and nothing else.
 */
let database: TestDatabase;
let recorded: Database;
const statements: string[] = [];
const settings = registrySettingsFrom(loadSettings({}));
const policy = settings.health.policy;
const config = { historyLimit: 10 };

beforeAll(async () => {
  database = await createTestDatabase();
  recorded = connectDatabase(database.url, { poolSize: 1, onQuery: (query) => statements.push(query.trim().toLowerCase()) });
});

afterAll(async () => {
  await recorded?.close();
  await database?.drop();
});

const isAppend = (statement: string) => /insert into events/.test(statement);

/** Runs `write` and returns what followed each event append it made (postgres.js may send a statement twice: describe, execute). */
async function afterAppends(write: () => Promise<unknown>): Promise<{ appends: number; followers: string[] }> {
  statements.length = 0;
  await write();
  const sent = statements.filter((statement, index) => statement !== statements[index - 1]);
  const followers = sent.flatMap((statement, index) => (isAppend(statement) ? [sent[index + 1] ?? '(nothing)'] : []));
  return { appends: followers.length, followers };
}

describe('the event append is the last statement of every write', () => {
  const ttl = (id: string) => ({ id, ttlMs: 30_000 });

  const writes: [string, () => Promise<unknown>][] = [
    [
      'registerService with new checks',
      () =>
        registerService(
          recorded.db,
          { id: 'svc-1', name: 'api', version: '1.0.0', address: '10.0.0.1', port: 80, healthChecks: [ttl('c1'), ttl('c2')] },
          policy,
          SYSTEM_PRINCIPAL,
        ),
    ],
    [
      'registerService, changed, with another check',
      () =>
        registerService(
          recorded.db,
          { id: 'svc-1', name: 'api', version: '1.1.0', address: '10.0.0.1', port: 80, healthChecks: [ttl('c3')] },
          policy,
          SYSTEM_PRINCIPAL,
        ),
    ],
    ['heartbeat passing TTL checks', () => heartbeat(recorded.db, 'svc-1', SYSTEM_PRINCIPAL)],
    ['updateTtlCheck', () => updateTtlCheck(recorded.db, 'c1', { status: 'CRITICAL', output: 'down' }, SYSTEM_PRINCIPAL)],
    ['registerHealthCheck', () => registerHealthCheck(recorded.db, 'svc-1', { id: 'c4', ttlMs: 30_000 }, policy, SYSTEM_PRINCIPAL)],
    ['setMaintenance', () => setMaintenance(recorded.db, 'svc-1', { enabled: true, reason: 'upgrade' }, SYSTEM_PRINCIPAL)],
    ['deregisterHealthCheck', () => deregisterHealthCheck(recorded.db, 'c4', SYSTEM_PRINCIPAL)],
    ['updateWeight', () => updateWeight(recorded.db, 'svc-1', 5, SYSTEM_PRINCIPAL)],
    [
      'batched registration',
      () =>
        new RegistrationWriter(recorded.db, policy).register({ id: 'svc-2', name: 'api', version: '1.0.0', address: '10.0.0.2', port: 80 }, SYSTEM_PRINCIPAL),
    ],
    ['setConfig', () => setConfig(recorded.db, { key: 'app.mode', value: 'a' }, config, SYSTEM_PRINCIPAL)],
    ['setConfig again', () => setConfig(recorded.db, { key: 'app.mode', value: 'b' }, config, SYSTEM_PRINCIPAL)],
    ['rollbackConfig', () => rollbackConfig(recorded.db, { key: 'app.mode', version: 1 }, config, SYSTEM_PRINCIPAL)],
    ['deleteConfig', () => deleteConfig(recorded.db, { key: 'app.mode' }, config, SYSTEM_PRINCIPAL)],
    ['registerComponent', () => registerComponent(recorded.db, { id: 'step-1', type: 'STEP', name: 'Step', version: '1.0.0' }, SYSTEM_PRINCIPAL)],
    ['unregisterComponent', () => unregisterComponent(recorded.db, 'step-1', SYSTEM_PRINCIPAL)],
    ['publishEvent', () => publishEvent(recorded.db, { type: 'deploy.finished', source: 'ci', data: {} }, SYSTEM_PRINCIPAL)],
    [
      'createToken and revokeToken',
      async () => revokeToken(recorded.db, (await createToken(recorded.db, { name: 'ci', scopes: ['WRITE'] }, SYSTEM_PRINCIPAL)).token.id, SYSTEM_PRINCIPAL),
    ],
    ['unregisterService', () => unregisterService(recorded.db, 'svc-1', SYSTEM_PRINCIPAL)],
  ];

  it.each(writes)('%s', async (_name, write) => {
    const { appends, followers } = await afterAppends(write);
    expect(appends).toBeGreaterThan(0);
    expect(followers).toEqual(Array(appends).fill('commit'));
  });
});
