import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigDocument,
  ConfigHistoryDocument,
  ConfigsDocument,
  DeleteConfigDocument,
  EventsDocument,
  LatestEventIdDocument,
  OnConfigChangedDocument,
  OnConfigPrefixChangedDocument,
  RollbackConfigDocument,
  SetConfigDocument,
} from '@switchboard/client';
import { errorCode, take } from './support/client.js';
import { useRegistryNode } from './support/nodes.js';

const registry = useRegistryNode({ SWITCHBOARD_CONFIG_HISTORY: '5' });

afterEach(async () => {
  await registry.database.sql`delete from config_entries`;
  await registry.database.sql`delete from config_history`;
});

type SetVariables = { key: string; value: unknown; environment?: string | null; expectedVersion?: number | null };
const set = (variables: SetVariables) => registry.client.request(SetConfigDocument, variables).then((result) => result.setConfig);
const get = (key: string, environment?: string) => registry.client.request(ConfigDocument, { key, environment }).then((result) => result.config);

describe('configuration values', () => {
  it('an environment answers with its own value, else the global one, and says which', async () => {
    await set({ key: 'api.timeout', value: 30 });
    await set({ key: 'api.retries', value: { max: 3, backoff: '100ms' } });
    await set({ key: 'api.timeout', value: 60, environment: 'prod' });

    expect(await get('api.timeout', 'prod')).toMatchObject({ value: 60, environment: 'prod', inherited: false, version: 1 });
    expect(await get('api.timeout', 'staging')).toMatchObject({ value: 30, environment: null, inherited: true });
    expect(await get('api.timeout')).toMatchObject({ value: 30, environment: null, inherited: false });
    expect(await get('api.missing', 'prod')).toBeNull();

    const { configs } = await registry.client.request(ConfigsDocument, { prefix: 'api.', environment: 'prod' });
    expect(configs.map((entry) => [entry.key, entry.value, entry.environment])).toEqual([
      ['api.retries', { max: 3, backoff: '100ms' }, null],
      ['api.timeout', 60, 'prod'],
    ]);
  });

  it('stores any JSON value but null', async () => {
    for (const value of [0, false, 'text', [1, 'two', { three: 3 }], { nested: { deeper: [true] } }, 1.5e-7]) {
      const entry = await set({ key: 'any.value', value });
      expect(entry.value).toEqual(value);
    }
    expect(await errorCode(set({ key: 'any.value', value: null }))).toBe('BAD_USER_INPUT');
  });

  it('compare-and-set: a version mismatch is CONFLICT and writes nothing', async () => {
    expect((await set({ key: 'flags.beta', value: true, expectedVersion: 0 })).version).toBe(1);
    expect(await errorCode(set({ key: 'flags.beta', value: false, expectedVersion: 0 }))).toBe('CONFLICT');
    expect((await set({ key: 'flags.beta', value: false, expectedVersion: 1 })).version).toBe(2);
    expect(await errorCode(set({ key: 'flags.beta', value: 'stale', expectedVersion: 1 }))).toBe('CONFLICT');
    expect(await errorCode(set({ key: 'flags.other', value: 1, expectedVersion: 3 }))).toBe('CONFLICT');
    expect(await get('flags.beta')).toMatchObject({ value: false, version: 2 });
    expect(await get('flags.other')).toBeNull();
  });

  it('of concurrent compare-and-sets on one version, exactly one wins', async () => {
    await set({ key: 'race.value', value: 'start' });
    const attempts = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => set({ key: 'race.value', value: `writer-${i}`, expectedVersion: 1 })));
    const winners = attempts.filter((attempt) => attempt.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    const entry = await get('race.value');
    expect(entry).toMatchObject({ version: 2, value: (winners[0] as PromiseFulfilledResult<{ value: unknown }>).value.value });
  });

  it('keeps history (bounded), and rolls back by writing a new version', async () => {
    for (const value of ['a', 'b', 'c']) await set({ key: 'ui.theme', value });
    const rolledBack = (await registry.client.request(RollbackConfigDocument, { key: 'ui.theme', version: 1 })).rollbackConfig;
    expect(rolledBack).toMatchObject({ value: 'a', version: 4 });

    const { configHistory } = await registry.client.request(ConfigHistoryDocument, { key: 'ui.theme' });
    expect(configHistory.map((entry) => [entry.version, entry.value])).toEqual([
      [4, 'a'],
      [3, 'c'],
      [2, 'b'],
      [1, 'a'],
    ]);

    for (const value of ['d', 'e', 'f']) await set({ key: 'ui.theme', value });
    const trimmed = (await registry.client.request(ConfigHistoryDocument, { key: 'ui.theme' })).configHistory;
    expect(trimmed.map((entry) => entry.version)).toEqual([7, 6, 5, 4, 3]); // SWITCHBOARD_CONFIG_HISTORY=5
    expect(await errorCode(registry.client.request(RollbackConfigDocument, { key: 'ui.theme', version: 1 }))).toBe('NOT_FOUND');
  });

  it('deletes: NOT_FOUND when absent, an environment falls back, versions continue', async () => {
    await set({ key: 'db.pool', value: 10 });
    await set({ key: 'db.pool', value: 50, environment: 'prod' });
    expect((await registry.client.request(DeleteConfigDocument, { key: 'db.pool', environment: 'prod' })).deleteConfig).toBe(true);
    expect(await get('db.pool', 'prod')).toMatchObject({ value: 10, inherited: true });
    expect(await errorCode(registry.client.request(DeleteConfigDocument, { key: 'db.pool', environment: 'prod' }))).toBe('NOT_FOUND');
    expect((await set({ key: 'db.pool', value: 40, environment: 'prod', expectedVersion: 0 })).version).toBe(3);
  });

  it('refuses bad keys, environments and values, writing nothing', async () => {
    const cases: SetVariables[] = [
      { key: 'no spaces', value: 1 },
      { key: '.leading', value: 1 },
      { key: 'trailing.', value: 1 },
      { key: 'a..b', value: 1 },
      { key: 'x'.repeat(300), value: 1 },
      { key: 'ok.key', value: 1, environment: '' },
      { key: 'ok.key', value: 1, environment: 'has space' },
      { key: 'ok.key', value: 'x'.repeat(200 * 1024) },
      { key: 'ok.key', value: { bad: 'nul\u0000' } },
      { key: 'ok.key', value: 1, expectedVersion: -1 },
    ];
    for (const variables of cases) {
      expect(await errorCode(set(variables)), JSON.stringify(variables).slice(0, 60)).toBe('BAD_USER_INPUT');
    }
    const [row] = await registry.database.sql`select count(*)::int as n from config_entries`;
    expect(row!['n']).toBe(0);
  });
});

describe('watching configuration', () => {
  const from = async () => (await registry.client.request(LatestEventIdDocument)).latestEventId;

  it('an environment watcher sees its own changes and the global ones that show through', async () => {
    const after = await from();
    const changes = registry.client.subscribe(OnConfigChangedDocument, { key: 'cache.ttl', environment: 'prod', after });

    await set({ key: 'cache.ttl', value: '60s' }); // global, prod has no value: visible
    await set({ key: 'cache.ttl', value: '5m', environment: 'prod' }); // prod's own
    await set({ key: 'cache.ttl', value: '90s' }); // global, hidden behind prod's value
    await set({ key: 'cache.ttl', value: '10m', environment: 'staging' }); // another environment
    await registry.client.request(DeleteConfigDocument, { key: 'cache.ttl', environment: 'prod' }); // falls back to global
    await set({ key: 'cache.ttl', value: '2m' }); // global, visible again

    const seen = await take(changes, 4);
    expect(seen.map(({ configChanged: c }) => [c.oldValue, c.newValue, c.environment, c.inherited, c.deleted])).toEqual([
      [null, '60s', null, true, false],
      ['60s', '5m', 'prod', false, false],
      ['5m', '90s', null, true, true], // prod's entry deleted: the global value (v2) answers
      ['90s', '2m', null, true, false],
    ]);
    expect(seen.map(({ configChanged: c }) => c.version)).toEqual([1, 1, 2, 3]);
    await changes.return!();
  });

  it('each change describes the value as config(key, environment) reads it right after (a deletion falling back included)', async () => {
    const after = await from();
    const changes = registry.client.subscribe(OnConfigChangedDocument, { key: 'watch.read', environment: 'prod', after });
    const reads = [];
    const writes = [
      () => set({ key: 'watch.read', value: '30s' }), // global, shows through
      () => set({ key: 'watch.read', value: '5s', environment: 'prod' }), // prod's own
      () => registry.client.request(DeleteConfigDocument, { key: 'watch.read', environment: 'prod' }), // falls back to global v1
      () => set({ key: 'watch.read', value: '45s' }), // global v2, shows through
    ];
    for (const write of writes) {
      await write();
      reads.push(await get('watch.read', 'prod'));
    }
    const seen = (await take(changes, writes.length)).map(({ configChanged: c }) => c);
    const described = seen.map((c) => ({ environment: c.environment, inherited: c.inherited, value: c.newValue, version: c.version }));
    expect(described).toEqual(
      reads.map((read) => ({ environment: read!.environment, inherited: read!.inherited, value: read!.value, version: read!.version })),
    );
    expect(described[2]).toEqual({ environment: null, inherited: true, value: '30s', version: 1 });
    expect(seen[2]).toMatchObject({ changedEnvironment: 'prod', deleted: true, oldValue: '5s' });
    await changes.return!();
  });

  it('many watchers of one key each get the view of their own environment (results are shared per event and operation)', async () => {
    const after = await from();
    const executionsBefore = registry.node.counters!.subscriptionExecutions;
    const second = registry.clients.create(registry.node.url);
    const watchers = (['prod', null, 'staging'] as const).flatMap((environment) =>
      Array.from({ length: 10 }, (_, index) => ({
        environment,
        stream: (index % 2 ? second : registry.client).subscribe(OnConfigChangedDocument, { key: 'shared.key', environment, after }),
      })),
    );
    await set({ key: 'shared.key', value: 1, environment: 'prod' });
    await set({ key: 'shared.key', value: 2 }); // hidden behind prod's own value
    await set({ key: 'shared.key', value: 3, environment: 'staging' });

    const expected = {
      prod: [[null, 1, 'prod', false]],
      global: [[null, 2, null, false]],
      staging: [
        [null, 2, null, true],
        [2, 3, 'staging', false],
      ],
    };
    for (const { environment, stream } of watchers) {
      const want = expected[environment ?? 'global'];
      const seen = await take(stream, want.length);
      expect(seen.map(({ configChanged: c }) => [c.oldValue, c.newValue, c.environment, c.inherited])).toEqual(want);
      await stream.return!();
    }
    // 40 deliveries to 30 watchers, but one execution per event and operation: the
    // ten watchers of each environment share prod's 1, global's 1 and staging's 2.
    expect(registry.node.counters!.subscriptionExecutions - executionsBefore).toBe(4);
  });

  it('a global watcher sees only global changes; a prefix watcher sees the subtree', async () => {
    const after = await from();
    const global = registry.client.subscribe(OnConfigChangedDocument, { key: 'svc.limit', after });
    const subtree = registry.client.subscribe(OnConfigPrefixChangedDocument, { prefix: 'svc.', environment: 'prod', after });

    await set({ key: 'svc.limit', value: 1, environment: 'prod' });
    await set({ key: 'svc.limit', value: 2 });
    await set({ key: 'svc.name', value: 'orders' });
    await set({ key: 'other.key', value: 'ignored' });

    expect((await take(global, 1)).map(({ configChanged: c }) => [c.key, c.newValue])).toEqual([['svc.limit', 2]]);
    expect((await take(subtree, 2)).map(({ configPrefixChanged: c }) => [c.key, c.newValue])).toEqual([
      ['svc.limit', 1],
      ['svc.name', 'orders'],
    ]);
    await global.return!();
    await subtree.return!();
  });

  it('a watcher that disconnects resumes from its last event id without missing a change', async () => {
    const after = await from();
    const first = registry.clients.create(registry.node.url);
    const stream = first.subscribe(OnConfigChangedDocument, { key: 'resume.key', after });
    await set({ key: 'resume.key', value: 1 });
    await set({ key: 'resume.key', value: 2 });
    const [one] = await take(stream, 1);
    await first.close();

    await set({ key: 'resume.key', value: 3 });
    const second = registry.clients.create(registry.node.url);
    const resumed = second.subscribe(OnConfigChangedDocument, { key: 'resume.key', after: one!.configChanged.eventId });
    const rest = await take(resumed, 2);
    expect([one!, ...rest].map(({ configChanged: c }) => c.newValue)).toEqual([1, 2, 3]);
    await resumed.return!();
  });

  it('every change is a config.changed event in the log', async () => {
    const after = await from();
    await set({ key: 'log.level', value: 'info' });
    await set({ key: 'log.level', value: 'debug', environment: 'dev' });
    const { events } = await registry.client.request(EventsDocument, { types: ['config.changed'], after });
    expect(events.map((event) => event.data)).toEqual([
      { key: 'log.level', environment: null, version: 1, deleted: false, oldValue: null, newValue: 'info', overriddenIn: [] },
      { key: 'log.level', environment: 'dev', version: 1, deleted: false, oldValue: null, newValue: 'debug', globalValue: 'info', globalVersion: 1 },
    ]);
  });

  it('setting the value a key already has changes nothing', async () => {
    const first = await set({ key: 'same.value', value: { a: 1, b: 2 } });
    const after = await from();
    const again = await set({ key: 'same.value', value: { b: 2, a: 1 } });
    expect(again.version).toBe(first.version);
    expect((await registry.client.request(EventsDocument, { after })).events).toEqual([]);
  });
});
