import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import {
  ConfigDocument,
  CreateTokenDocument,
  LatestEventIdDocument,
  SetConfigDocument,
  SwitchboardRequestError,
  type SwitchboardClient,
} from '@switchboard/client';
import { SwitchboardError } from '@switchboard/contracts';
import { AdvisoryLock } from '../src/db/locks.js';
import { SYSTEM_PRINCIPAL } from '../src/registry/access/index.js';
import { ConfigWriter, deleteConfig, rollbackConfig, setConfig, type ConfigEntry } from '../src/registry/config/index.js';
import { runWithSignal, writeOutcome } from '../src/request-signal.js';
import { eventsAfter, expectAscending } from './support/concurrency.js';
import { scrape, sumOf } from './support/metrics.js';
import { useServerPair } from './support/nodes.js';
import { eventually } from './support/wait.js';

/**
 * A burst of writes on a few configuration keys, from two server processes, all at once and
 * under the production request deadline. Each write used to be a transaction of its own that
 * held a pooled connection while it queued for the key's lock: under load, a third of them
 * ran out of time. Writes to one key are now committed together (ConfigWriter), and each
 * must still be a write of its own: its version, its history row, its event (with its
 * caller's actor), its compare-and-set decided against the writes before it, its answer.
 */
const ADMIN = 'config-bursts-admin-0123456789';
const servers = useServerPair({
  SWITCHBOARD_ADMIN_TOKEN: ADMIN,
  SWITCHBOARD_HEALTH_WORKER: 'false',
  // The production deadline (the pair's default is generous): a write that queues too long fails.
  SWITCHBOARD_REQUEST_TIMEOUT: '5s',
});
const { clients } = servers;

const KEYS = 8;
const WRITES = 400;
/** Every fifth write is a compare-and-set at a version it guesses. */
const casAt = (n: number) => (n % 5 === 4 ? Math.floor(n / KEYS / 5) * 5 : undefined);

type Answer = { writer: number; key: string; actor: string; expectedVersion: number | undefined } & (
  { ok: true; version: number; value: unknown } | { ok: false; code: string | undefined; message: string }
);

describe('same-key write bursts, two servers', () => {
  it('400 concurrent setConfig on 8 keys: each its own version, history row, event and answer; committed in shared transactions', async () => {
    const admin = clients.create(servers.a.url, ADMIN);
    // Two writers' tokens, crossed with the two servers: each event must name its own caller.
    const tokens = await Promise.all(
      ['burst-writer-0', 'burst-writer-1'].map(async (name) => {
        const { createToken } = await admin.request(CreateTokenDocument, { input: { name, scopes: ['WRITE'] } });
        return { name, secret: createToken.token };
      }),
    );
    const writers: { client: SwitchboardClient; actor: string }[][] = servers.nodes.map((node) =>
      tokens.map((token) => ({ client: clients.create(node.url, token.secret), actor: token.name })),
    );
    const batchesBefore = await configBatches();
    const start = (await admin.request(LatestEventIdDocument)).latestEventId;

    const answers = await Promise.all(
      Array.from({ length: WRITES }, async (_, n): Promise<Answer> => {
        const { client, actor } = writers[n % 2]![Math.floor(n / 2) % 2]!;
        const key = `burst.key${n % KEYS}`;
        const expectedVersion = casAt(n);
        const base = { writer: n, key, actor, expectedVersion };
        try {
          const { setConfig } = await client.request(SetConfigDocument, { key, value: { n }, expectedVersion });
          return { ...base, ok: true, version: setConfig.version, value: setConfig.value };
        } catch (error) {
          if (!(error instanceof SwitchboardRequestError)) throw error;
          return { ...base, ok: false, code: error.code, message: error.message };
        }
      }),
    );

    // Every plain write succeeded; a compare-and-set succeeded at the version it named, or is CONFLICT.
    const failed = answers.filter((answer) => !answer.ok && (answer.expectedVersion === undefined || answer.code !== 'CONFLICT'));
    expect(failed, 'writes that failed other than by CONFLICT').toEqual([]);
    const succeeded = answers.flatMap((answer) => (answer.ok ? [answer] : []));
    for (const answer of succeeded)
      if (answer.expectedVersion !== undefined) expect(answer.version, `writer ${answer.writer}`).toBe(answer.expectedVersion + 1);
    expect(succeeded.filter((answer) => answer.expectedVersion === undefined)).toHaveLength(WRITES - WRITES / 5);

    const log = (await eventsAfter(admin, start, ['config.changed'])).filter((event) => String(event.data['key']).startsWith('burst.'));
    expectAscending(log);
    const eventActors = await actorsOf(log.map((event) => event.id));
    const history = await servers.database.sql<{ key: string; version: number; n: number }[]>`
      select key, version, (value->>'n')::int as n from config_history where key like 'burst.%' order by key, version`;

    for (let k = 0; k < KEYS; k++) {
      const key = `burst.key${k}`;
      const ours = succeeded.filter((answer) => answer.key === key).sort((x, y) => x.version - y.version);
      const count = ours.length;
      // Versions 1..n, one per acknowledged write, none twice.
      expect(
        ours.map((answer) => answer.version),
        key,
      ).toEqual(range(count));
      expect(history.filter((row) => row.key === key).map((row) => row.version)).toEqual(range(count));
      // One event per write, in version order (ids are commit order), each the very change its caller was answered with.
      const events = log.filter((event) => event.data['key'] === key);
      expect(events.map((event) => event.data['version'])).toEqual(range(count));
      events.forEach((event, i) => {
        const answer = ours[i]!;
        expect(event.data['newValue'], `${key} v${i + 1}`).toEqual(answer.value);
        expect(answer.value).toEqual({ n: answer.writer });
        expect(history.find((row) => row.key === key && row.version === i + 1)!.n).toBe(answer.writer);
        expect(event.data['oldValue']).toEqual(i === 0 ? null : ours[i - 1]!.value);
        expect(eventActors.get(event.id), `actor of ${key} v${i + 1}`).toBe(answer.actor);
      });
      // The key's value is its highest version's, on both servers.
      for (const node of servers.nodes) {
        const { config } = await clients.create(node.url, ADMIN).request(ConfigDocument, { key });
        expect(config).toMatchObject({ version: count, value: ours.at(-1)!.value });
      }
    }

    // Committed together: fewer transactions than writes (with one transaction per write, there are no batches at all).
    const batches = await configBatches();
    expect(batches.writes - batchesBefore.writes).toBe(WRITES);
    expect(batches.transactions - batchesBefore.transactions).toBeLessThanOrEqual(WRITES / 2);
  });
});

describe('a batch means what its writes one at a time mean', () => {
  const options = { historyLimit: 3 };
  type Write =
    | { op: 'set'; environment?: string; value: unknown; expectedVersion?: number; secret?: boolean; flags?: string }
    | { op: 'delete'; environment?: string; expectedVersion?: number }
    | { op: 'rollback'; environment?: string; version: number };
  /** Every rule a write decides under the lock, on one key, both environments, a history of 3. */
  const WRITES: Write[] = [
    { op: 'set', value: 1 },
    { op: 'set', value: 1 }, // no change
    { op: 'set', environment: 'prod', value: { b: 2, a: 1 } },
    { op: 'set', value: 2, expectedVersion: 1 },
    { op: 'set', value: 3, expectedVersion: 1 }, // CONFLICT
    { op: 'delete', environment: 'prod' },
    { op: 'delete', environment: 'prod' }, // NOT_FOUND
    { op: 'set', value: 'hidden', secret: true },
    { op: 'set', value: 4 }, // still secret
    { op: 'rollback', version: 2 },
    { op: 'set', value: 5, secret: false, flags: '7' },
    { op: 'rollback', version: 1 }, // pruned: NOT_FOUND
    { op: 'rollback', environment: 'prod', version: 2 }, // a deletion: BAD_USER_INPUT
    { op: 'set', environment: 'prod', value: 'p', expectedVersion: 0 },
    { op: 'set', value: 5 }, // no change (flags as they were)
    { op: 'set', value: 6 },
    { op: 'delete', expectedVersion: 7 },
    { op: 'set', value: 9 }, // created anew: flags back to 0
    { op: 'rollback', version: 8 }, // a deletion: BAD_USER_INPUT
    { op: 'rollback', version: 7 },
  ];

  function apply(key: string, write: Write, writer?: ConfigWriter): Promise<ConfigEntry> {
    const db = servers.database.db;
    const input = { ...write, key };
    if (input.op === 'set') return writer ? writer.set(input, SYSTEM_PRINCIPAL) : setConfig(db, input, options, SYSTEM_PRINCIPAL);
    if (input.op === 'delete') return writer ? writer.delete(input, SYSTEM_PRINCIPAL) : deleteConfig(db, input, options, SYSTEM_PRINCIPAL);
    return writer ? writer.rollback(input, SYSTEM_PRINCIPAL) : rollbackConfig(db, input, options, SYSTEM_PRINCIPAL);
  }

  it('20 writes of every kind on one key, batched, leave the answers, versions, history, events and entries they leave one at a time', async () => {
    const alone = 'bursts.alone';
    const together = 'bursts.together';
    const one: unknown[] = [];
    for (const write of WRITES) one.push(await settle(apply(alone, write)));
    const sizes: number[] = [];
    const writer = new ConfigWriter(servers.database.db, options, (size) => sizes.push(size));
    // Submitted at once: the first starts a batch, the others queue for the next.
    const all = await Promise.all(WRITES.map((write) => settle(apply(together, write, writer))));
    expect(sizes).toEqual([1, WRITES.length - 1]);

    const [aloneState, togetherState] = await Promise.all([stored(alone), stored(together)]);
    expect(mapIds(all, togetherState.eventIds)).toEqual(mapIds(one, aloneState.eventIds));
    expect(togetherState.without(together)).toEqual(aloneState.without(alone));
    // The checks above compare with the lone writes; these pin what they are.
    expect(all.map((answer) => (answer instanceof SwitchboardError ? answer.code : (answer as ConfigEntry).version))).toEqual([
      1,
      1,
      1,
      2,
      'CONFLICT',
      2,
      'NOT_FOUND',
      3,
      4,
      5,
      6,
      'NOT_FOUND',
      'BAD_USER_INPUT',
      3,
      6,
      7,
      8,
      9,
      'BAD_USER_INPUT',
      10,
    ]);
    expect(togetherState.without(together).history.map((row) => `${row.environment}:${row.version}`)).toEqual([
      ':8',
      ':9',
      ':10',
      'prod:1',
      'prod:2',
      'prod:3',
    ]);
  });

  it('a write whose request gives up while its batch waits is not applied; a batch nobody waits for any more stops waiting', async () => {
    const key = 'bursts.abandoned';
    const writer = new ConfigWriter(servers.database.db, options);
    // Two connections: one holds the lock, the other looks at who waits for it.
    const holder = postgres(servers.database.url, { max: 2, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const holding = holder.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${AdvisoryLock.CONFIG_KEY}::int4, hashtext(${key}))`;
      locked();
      await released;
    });
    try {
      await Promise.race([lockTaken, holding]);
      const requests = [new AbortController(), new AbortController(), new AbortController()];
      // The first write's batch begins at once and waits for the lock; the other two queue, as the next batch.
      const writes = requests.map((request, n) => settle(runWithSignal(request.signal, () => writer.set({ key, value: n + 1 }, SYSTEM_PRINCIPAL))));
      await eventually(async () => ((await lockWaiters(holder)) === 1 ? true : undefined));

      requests[0]!.abort();
      // Answered while the lock is still held: its wait was cancelled in the database.
      expect(await writes[0]).toMatchObject({ code: 'UNAVAILABLE', details: { outcome: 'not_applied' } });
      await eventually(async () => ((await lockWaiters(holder)) === 1 ? true : undefined)); // the next batch waits
      requests[1]!.abort(); // one of two: the batch waits on, for the other
      release();
      await holding;

      expect(await writes[2]).toMatchObject({ version: 1, value: 3 });
      expect(await writes[1]).toMatchObject({ code: 'UNAVAILABLE', details: { outcome: 'not_applied' } });
      expect(requests.map((request) => writeOutcome(request.signal))).toEqual(['not_applied', 'not_applied', 'unknown']);
      expect((await stored(key)).without(key).history).toEqual([{ environment: '', version: 1, value: 3, deleted: false, secret: false }]);
    } finally {
      release();
      await holding.catch(() => undefined);
      await holder.end();
    }
  });
});

const range = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

/** An answer, or the error it failed with. */
const settle = <T>(promise: Promise<T>): Promise<T | SwitchboardError> => promise.catch((error: unknown) => error as SwitchboardError);

async function lockWaiters(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from pg_locks
    where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`;
  return row!.count;
}

/** Answers with event ids as the (environment, version) of their events, and without what differs by key and time. */
function mapIds(answers: readonly unknown[], eventIds: ReadonlyMap<number, string>): unknown[] {
  return answers.map((answer) => {
    if (answer instanceof SwitchboardError) return { code: answer.code, details: { ...answer.details, key: 'KEY' } };
    const { key: _key, updatedAt: _updatedAt, createdEventId, modifiedEventId, ...entry } = answer as ConfigEntry;
    return { ...entry, created: eventIds.get(createdEventId), modified: eventIds.get(modifiedEventId) };
  });
}

/** A key's entries, history and events as stored; `without` drops the key, times and ids. */
async function stored(key: string) {
  const sql = servers.database.sql;
  const entries = await sql<{ environment: string; created_event_id: string; modified_event_id: string }[]>`
    select environment, value, version, deleted, secret, flags::text, created_version, created_event_id::text, modified_event_id::text
    from config_entries where key = ${key} order by environment`;
  const history = await sql`select environment, version, value, deleted, secret from config_history where key = ${key} order by environment, version`;
  const events = await sql<{ id: string; data: Record<string, unknown>; actor: unknown }[]>`
    select id::text, data, actor from events where type = 'config.changed' and data->>'key' = ${key} order by events.id`;
  const eventIds = new Map(events.map((event) => [Number(event.id), `${String(event.data['environment'])}:${String(event.data['version'])}`]));
  return {
    eventIds,
    without: (name: string) => ({
      entries: entries.map(({ created_event_id, modified_event_id, ...entry }) => ({
        ...entry,
        created: eventIds.get(Number(created_event_id)),
        modified: eventIds.get(Number(modified_event_id)),
      })),
      history: [...history],
      events: events.map((event) => ({ ...event.data, key: event.data['key'] === name ? 'KEY' : event.data['key'], actor: event.actor })),
    }),
  };
}

/** Config group-commit transactions and the writes they carried, summed over both servers' /metrics. */
async function configBatches(): Promise<{ transactions: number; writes: number }> {
  const samples = (await Promise.all(servers.nodes.map((node) => scrape(node.url.replace(/\/graphql$/, '/metrics'), ADMIN)))).flat();
  return {
    transactions: sumOf(samples, 'switchboard_group_commit_batch_size_count', { writer: 'config' }),
    writes: sumOf(samples, 'switchboard_group_commit_batch_size_sum', { writer: 'config' }),
  };
}

/** The name of the actor each event records. */
async function actorsOf(ids: readonly string[]): Promise<Map<string, string | undefined>> {
  const rows = await servers.database.sql<{ id: string; name: string | null }[]>`
    select id::text, actor->>'name' as name from events where id = any(${ids.map(Number)}::int8[])`;
  return new Map(rows.map((row) => [row.id, row.name ?? undefined]));
}
