import { describe, expect, it } from 'vitest';
import {
  ComponentDocument,
  ConfigDocument,
  ConfigHistoryDocument,
  CreateTokenDocument,
  DeleteConfigDocument,
  LatestEventIdDocument,
  RegisterComponentDocument,
  RevokeTokenDocument,
  RollbackConfigDocument,
  SetConfigDocument,
  SwitchboardRequestError,
  TokensDocument,
  type SwitchboardClient,
} from '@switchboard/client';
import { errorCode } from './support/client.js';
import { about, acknowledged, expectOnlyErrors, useWatchedLog, writers, type LoggedEvent } from './support/concurrency.js';
import { useServerPair } from './support/nodes.js';

/**
 * Configuration, component and token write paths from two `switchboard serve`
 * processes on one database, hundreds of writers on the same rows. Versions must be
 * contiguous (1..n, one per acknowledged change), the final value the highest
 * version's, CONFLICT the only error a compare-and-set may get, one event per change,
 * and a live subscriber must see the log in id order with nothing missing.
 */
const ADMIN = 'concurrency-config-admin-0123456789';
const servers = useServerPair({
  SWITCHBOARD_ADMIN_TOKEN: ADMIN,
  SWITCHBOARD_HEALTH_WORKER: 'false',
  // Keep every version, so the history can be checked whole.
  SWITCHBOARD_CONFIG_HISTORY: '10000',
});
const { clients } = servers;
const { both, logSinceStart } = useWatchedLog(servers, ADMIN);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const set = (client: SwitchboardClient, variables: { key: string; value: unknown; expectedVersion?: number }) =>
  client.request(SetConfigDocument, variables).then((result) => result.setConfig);
const versionOf = (key: string) => both[0]!.request(ConfigDocument, { key }).then((result) => result.config?.version ?? 0);

/** The key's config.changed events, asserted one per version from `from`, in version order. */
function expectContiguousEvents(log: readonly LoggedEvent[], key: string, from: number, to: number): LoggedEvent[] {
  const events = about(log, key).filter((event) => event.type === 'config.changed');
  expect(
    events.map((event) => event.data['version']),
    `${key}: one event per version, in order`,
  ).toEqual(range(from, to));
  return events;
}

describe('setConfig from two servers', () => {
  it("240 writers set one key: versions 1..240, one each; the value is the highest version's", async () => {
    const key = 'race.plain';
    const outcomes = await writers(240, both, (client, i) => set(client, { key, value: { writer: i } }));
    expectOnlyErrors(outcomes);
    const versions = acknowledged(outcomes).map((outcome) => outcome.value.version);
    expect([...versions].sort((x, y) => x - y)).toEqual(range(1, 240));

    const events = expectContiguousEvents(await logSinceStart(), key, 1, 240);
    // Each answer is the version its event recorded.
    const byVersion = new Map(acknowledged(outcomes).map((outcome) => [outcome.value.version, outcome.value.value]));
    for (const event of events) expect(event.data['newValue']).toEqual(byVersion.get(event.data['version'] as number));
    for (let k = 1; k < events.length; k++) expect(events[k]!.data['oldValue']).toEqual(events[k - 1]!.data['newValue']);
    const { config } = await both[1]!.request(ConfigDocument, { key });
    expect(config).toMatchObject({ version: 240, value: byVersion.get(240) });
  });

  it('240 writers create one key with expectedVersion 0: one succeeds, the rest are CONFLICT', async () => {
    const key = 'race.create';
    const outcomes = await writers(240, both, (client, i) => set(client, { key, value: i, expectedVersion: 0 }));
    expectOnlyErrors(outcomes, ['CONFLICT']);
    const winners = acknowledged(outcomes);
    expect(winners.map((outcome) => outcome.value.version)).toEqual([1]);

    expectContiguousEvents(await logSinceStart(), key, 1, 1);
    expect((await both[1]!.request(ConfigDocument, { key })).config).toMatchObject({ version: 1, value: winners[0]!.writer });
  });

  it('240 compare-and-set writers (read, then write at that version; three tries): versions contiguous, CONFLICT the only error', async () => {
    const key = 'race.cas';
    const outcomes = await writers(240, both, async (client, i) => {
      for (let attempt = 1; ; attempt++) {
        const expectedVersion = await versionOf(key);
        try {
          return await set(client, { key, value: { writer: i, attempt }, expectedVersion });
        } catch (error) {
          if (attempt === 3 || !(error instanceof SwitchboardRequestError) || error.code !== 'CONFLICT') throw error;
        }
      }
    });
    expectOnlyErrors(outcomes, ['CONFLICT']);
    const versions = acknowledged(outcomes).map((outcome) => outcome.value.version);
    expect([...versions].sort((x, y) => x - y)).toEqual(range(1, versions.length));
    expect(versions.length).toBeGreaterThan(0);

    const events = expectContiguousEvents(await logSinceStart(), key, 1, versions.length);
    const byVersion = new Map(acknowledged(outcomes).map((outcome) => [outcome.value.version, outcome.value.value]));
    for (const event of events) expect(event.data['newValue']).toEqual(byVersion.get(event.data['version'] as number));
    expect((await both[1]!.request(ConfigDocument, { key })).config).toMatchObject({ version: versions.length, value: byVersion.get(versions.length) });
  });
});

describe('deleteConfig from two servers', () => {
  it('240 writers delete one key at once: one succeeds, the rest NOT_FOUND, one event', async () => {
    const key = 'race.delete';
    await set(both[0]!, { key, value: 'doomed' });
    const outcomes = await writers(240, both, (client) => client.request(DeleteConfigDocument, { key }));
    expectOnlyErrors(outcomes, ['NOT_FOUND']);
    expect(acknowledged(outcomes)).toHaveLength(1);

    const events = expectContiguousEvents(await logSinceStart(), key, 1, 2);
    expect(events.map((event) => event.data['deleted'])).toEqual([false, true]);
    expect((await both[1]!.request(ConfigDocument, { key })).config).toBeNull();
  });

  it("sets and deletes racing on one key: one version per acknowledged write, the state is the last version's", async () => {
    const key = 'race.churn';
    const deletes = (i: number) => i % 3 === 2;
    const outcomes = await writers(240, both, (client, i) =>
      deletes(i) ? client.request(DeleteConfigDocument, { key }).then(() => null) : set(client, { key, value: { writer: i } }),
    );
    // A delete of a key already deleted is NOT_FOUND, as documented; nothing else may fail.
    expectOnlyErrors(outcomes, ['NOT_FOUND']);
    expect(outcomes.every((outcome) => outcome.ok || deletes(outcome.writer))).toBe(true);
    const acked = acknowledged(outcomes).length;

    const events = expectContiguousEvents(await logSinceStart(), key, 1, acked);
    expect(events.filter((event) => event.data['deleted'] === true)).toHaveLength(acknowledged(outcomes).filter((outcome) => deletes(outcome.writer)).length);
    // No deletion follows a deletion: it would have been NOT_FOUND.
    events.forEach((event, k) => k > 0 && event.data['deleted'] && expect(events[k - 1]!.data['deleted']).toBe(false));
    const { configHistory } = await both[1]!.request(ConfigHistoryDocument, { key, first: 1000 });
    expect(configHistory.map((entry) => entry.version)).toEqual(range(1, acked).reverse());
    const last = events.at(-1)!;
    const { config } = await both[0]!.request(ConfigDocument, { key });
    if (last.data['deleted']) expect(config).toBeNull();
    else expect(config).toMatchObject({ version: acked, value: last.data['newValue'] });
  });
});

describe('rollbackConfig from two servers', () => {
  it('240 writers roll one key back to earlier versions: each new version is a real change, contiguous, one event each', async () => {
    const key = 'race.rollback';
    for (let v = 1; v <= 5; v++) await set(both[0]!, { key, value: `value ${v}` });
    const target = (i: number) => (i % 5) + 1;
    const outcomes = await writers(240, both, (client, i) =>
      client.request(RollbackConfigDocument, { key, version: target(i) }).then((result) => result.rollbackConfig),
    );
    expectOnlyErrors(outcomes);
    const final = await versionOf(key);

    const events = expectContiguousEvents(await logSinceStart(), key, 1, final);
    for (let k = 1; k < events.length; k++)
      expect(events[k]!.data['newValue'], `version ${k + 1} changed nothing`).not.toEqual(events[k - 1]!.data['newValue']);
    // Every answer is a version that exists with that value (a rollback to the current value answers the current version).
    const valueAt = new Map(events.map((event) => [event.data['version'] as number, event.data['newValue']]));
    for (const { value, writer } of acknowledged(outcomes)) {
      expect(value.value).toBe(`value ${target(writer)}`);
      expect(valueAt.get(value.version)).toBe(value.value);
    }
    expect((await both[1]!.request(ConfigDocument, { key })).config).toMatchObject({ version: final, value: valueAt.get(final) });
  });
});

describe('registerComponent from two servers', () => {
  it('240 writers on one component id and 120 on their own: one event per change, the row is the last event', async () => {
    const outcomes = await writers(360, both, (client, i) =>
      client.request(RegisterComponentDocument, {
        input:
          i % 3 === 2
            ? { id: `own-${i}`, type: 'STEP', name: 'own-step', version: '1.0.0' }
            : { id: 'shared-step', type: 'STEP', name: 'shared-step', version: '1.0.0', description: `writer ${i}` },
      }),
    );
    expectOnlyErrors(outcomes);

    const log = await logSinceStart();
    const shared = about(log, 'shared-step');
    const description = (event: LoggedEvent) => (event.data['component'] as { description: string }).description;
    expect(shared.map(description).sort()).toEqual(
      outcomes
        .filter((outcome) => outcome.writer % 3 !== 2)
        .map((outcome) => `writer ${outcome.writer}`)
        .sort(),
    );
    expect(shared.map((event) => event.data['created'])).toEqual([true, ...Array(239).fill(false)]);
    expect((await both[1]!.request(ComponentDocument, { id: 'shared-step' })).component!.description).toBe(description(shared.at(-1)!));
    const own = log.filter((event) => event.type === 'component.registered' && String(event.data['id']).startsWith('own-'));
    expect(own.map((event) => event.data['id']).sort()).toEqual(
      outcomes
        .filter((outcome) => outcome.writer % 3 === 2)
        .map((outcome) => `own-${outcome.writer}`)
        .sort(),
    );
  });
});

describe('createToken and revokeToken from two servers', () => {
  it('240 tokens created at once, then 2 revokes each of half of them from both servers: each token once, revoked ones revoked, one event each', async () => {
    const created = await writers(240, both, (client, i) => client.request(CreateTokenDocument, { input: { name: `race-${i}`, scopes: ['READ'] } }));
    expectOnlyErrors(created);
    const ids = acknowledged(created).map((outcome) => outcome.value.createToken.id);
    expect(new Set(ids).size).toBe(240);
    const toRevoke = ids.filter((_, k) => k % 2 === 0);
    const revoked = await writers(toRevoke.length * 2, both, (client, i) => client.request(RevokeTokenDocument, { id: toRevoke[Math.floor(i / 2)]! }));
    expectOnlyErrors(revoked);

    const log = await logSinceStart();
    const createdEvents = log.filter((event) => event.type === 'token.created').map((event) => event.data['id']);
    const revokedEvents = log.filter((event) => event.type === 'token.revoked').map((event) => event.data['id']);
    expect([...createdEvents].sort()).toEqual([...ids].sort());
    expect([...revokedEvents].sort()).toEqual([...toRevoke].sort());

    const { tokens } = await both[1]!.request(TokensDocument);
    const listed = tokens.filter((token) => token.name.startsWith('race-'));
    expect(listed.map((token) => token.id).sort()).toEqual([...ids].sort());
    const revokedSet = new Set(toRevoke);
    for (const token of listed) expect(token.revokedAt !== null, token.id).toBe(revokedSet.has(token.id));
    // A revoked secret is refused by both servers; a kept one works on both.
    const secretOf = new Map(acknowledged(created).map((outcome) => [outcome.value.createToken.id, outcome.value.createToken.token]));
    for (const [k, node] of servers.nodes.entries()) {
      expect(await errorCode(clients.create(node.url, secretOf.get(toRevoke[k]!)).request(LatestEventIdDocument))).toBe('UNAUTHENTICATED');
      const kept = ids.find((id) => !revokedSet.has(id))!;
      await clients.create(node.url, secretOf.get(kept)).request(LatestEventIdDocument);
    }
  });
});
