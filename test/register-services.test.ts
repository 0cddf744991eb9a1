import { describe, expect, it } from 'vitest';
import {
  CreateTokenDocument,
  DiscoverServicesDocument,
  RegisterServiceDocument,
  RegisterServicesDocument,
  type ServiceDefinitionInput,
  type SwitchboardClient,
} from '@switchboard/client';
import { MAX_REGISTRATIONS_PER_CALL } from '../src/registry/services/index.js';
import { SwitchboardRequestError } from './support/client.js';
import { useServerPair } from './support/nodes.js';

/**
 * registerServices: many instances in one transaction, all or nothing. Two `switchboard serve`
 * processes on one database, so two bulk calls can race from different servers.
 */
const ADMIN = 'register-services-admin-0123456789';
const servers = useServerPair({ SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_HEALTH_WORKER: 'false' });
const admin = (server: 0 | 1 = 0) => servers.clients.create(servers.nodes[server]!.url, ADMIN);

const registerAll = (client: SwitchboardClient, inputs: ServiceDefinitionInput[]) =>
  client.request(RegisterServicesDocument, { inputs }).then((result) => result.registerServices);

/** `count` definitions of service `name`, ids `${name}-<n>` in a shuffled order (so input order is not id order). */
function definitions(name: string, count: number, overrides: (n: number) => Partial<ServiceDefinitionInput> = () => ({})): ServiceDefinitionInput[] {
  return Array.from({ length: count }, (_, index) => {
    const n = (index * 37) % count; // 37 is prime to the counts used: a permutation
    return { id: `${name}-${n}`, name, version: '1.0.0', address: '10.0.0.1', port: 8000 + n, tags: ['bulk'], ...overrides(n) };
  });
}

interface StoredEvent {
  id: number;
  type: string;
  data: { id: string; created: boolean; instance: Record<string, unknown> };
}

async function eventsAfter(after: number): Promise<StoredEvent[]> {
  return servers.database.sql<StoredEvent[]>`select id::int as id, type, data from events where id > ${after} order by id`;
}

/** What the database holds: rows and the newest event (a refused call must change neither). */
async function snapshot(): Promise<{ services: number; lastEvent: number }> {
  const [row] = await servers.database.sql<{ services: number; last_event: number }[]>`
    select (select count(*)::int from services) as services, (select coalesce(max(id), 0)::int from events) as last_event`;
  return { services: row!.services, lastEvent: row!.last_event };
}

/** The refusal a call ends with: code, message, extensions. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string | undefined; message: string; extensions: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof SwitchboardRequestError)) throw error;
    return { code: error.code, message: error.errors[0]!.message, extensions: (error.errors[0]!.extensions ?? {}) as Record<string, unknown> };
  }
  throw new Error('expected the call to be refused, but it succeeded');
}

/** Runs `call`; expects it refused with `code` and a message matching `message`, with nothing written. */
async function expectRefusedWritingNothing(call: () => Promise<unknown>, code: string, message: RegExp) {
  const before = await snapshot();
  const answer = await refusal(call());
  expect(answer.code, answer.message).toBe(code);
  expect(answer.message).toMatch(message);
  expect(await snapshot()).toEqual(before);
  return answer;
}

describe('registerServices', () => {
  it('registers 200 instances, one event each in input order; the answer is the next read and the events', async () => {
    const client = admin();
    const inputs = definitions('bulk', 200);
    const { lastEvent } = await snapshot();

    const answer = await registerAll(client, inputs);
    expect(answer.map((instance) => instance.id)).toEqual(inputs.map((input) => input.id));
    expect(answer.map((instance) => instance.port)).toEqual(inputs.map((input) => input.port));

    const events = await eventsAfter(lastEvent);
    expect(events.map((event) => [event.type, event.data.id, event.data.created])).toEqual(inputs.map((input) => ['service.registered', input.id, true]));
    // One append: the call's events are consecutive ids.
    expect(events.at(-1)!.id - events[0]!.id).toBe(199);
    answer.forEach((instance, index) => {
      const { id, name, version, address, port, tags, metadata, weight, priority, ttl, registeredAt, updatedAt } = instance;
      expect(events[index]!.data.instance).toMatchObject({ id, name, version, address, port, tags, metadata, weight, priority, ttl, registeredAt, updatedAt });
    });

    // The answer waited for this server's catalog: a read right after it is the same state.
    const { discoverServices } = await client.request(DiscoverServicesDocument, { name: 'bulk' });
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
    expect([...discoverServices].sort(byId)).toEqual([...answer].sort(byId));
  });

  it('refuses the whole call for one bad input, naming it; nothing is written', async () => {
    const inputs = definitions('bad-at-150', 200);
    inputs[150] = { ...inputs[150]!, port: 70_000 };
    const { extensions } = await expectRefusedWritingNothing(() => registerAll(admin(), inputs), 'BAD_USER_INPUT', /^inputs\[150\]\.port: /);
    expect(extensions['index']).toBe(150);
  });

  it("refuses a name outside the token's prefix, and an id another team holds (under its lock), naming the input; nothing is written", async () => {
    const { createToken } = await admin().request(CreateTokenDocument, { input: { name: 'bulk-team-a', scopes: ['WRITE'], servicePrefix: 'team-a' } });
    const teamA = servers.clients.create(servers.a.url, createToken.token);
    const own = definitions('team-a-api', 20);

    const outside = own.map((input, index) => (index === 7 ? { ...input, name: 'team-b-api' } : input));
    await expectRefusedWritingNothing(() => registerAll(teamA, outside), 'FORBIDDEN', /^inputs\[7\]: .*"team-b-api"/);

    // An id already registered under team B's name: refused only once its row is locked (the message names its service).
    await admin().request(RegisterServiceDocument, { input: { id: 'team-b-held', name: 'team-b-api', address: '10.0.0.2' } });
    const takeOver = own.map((input, index) => (index === 12 ? { ...input, id: 'team-b-held' } : input));
    await expectRefusedWritingNothing(() => registerAll(teamA, takeOver), 'FORBIDDEN', /^inputs\[12\]: .*"team-b-api"/);

    expect(await registerAll(teamA, own)).toHaveLength(20);
  });

  it(`takes at most ${MAX_REGISTRATIONS_PER_CALL} inputs`, async () => {
    const over = definitions('too-many', MAX_REGISTRATIONS_PER_CALL + 1);
    await expectRefusedWritingNothing(() => registerAll(admin(), over), 'BAD_USER_INPUT', new RegExp(`^inputs: at most ${MAX_REGISTRATIONS_PER_CALL} `));
  });

  it('refuses an id given twice (an id defaults to the name); nothing is written', async () => {
    const [first, second] = definitions('twice', 2);
    await expectRefusedWritingNothing(
      () => registerAll(admin(), [first!, second!, { ...first!, port: 1 }]),
      'BAD_USER_INPUT',
      /^inputs\[2\]\.id: .*inputs\[0\]/,
    );
    await expectRefusedWritingNothing(
      () => registerAll(admin(), [{ name: 'twice', address: '10.0.0.1' }, first!, { id: 'twice', name: 'twice', address: '10.0.0.2' }]),
      'BAD_USER_INPUT',
      /^inputs\[2\]\.id: /,
    );
  });

  it('two calls on overlapping ids from two servers, ids in opposite orders: both commit, and the state is one serial order', async () => {
    const [onA, onB] = [admin(0), admin(1)];
    for (let round = 1; round <= 2; round++) {
      // A: ids 0..59 ascending; B: ids 20..79 descending (round 1 inserts them, round 2 updates them). Every call changes every instance it names.
      const callA = Array.from({ length: 60 }, (_, n) => ({ id: `race-${n}`, name: 'race', version: `${round}.0.0`, address: `10.1.0.${round}` }));
      const callB = Array.from({ length: 60 }, (_, n) => ({ id: `race-${79 - n}`, name: 'race', version: `${round}.1.0`, address: `10.2.0.${round}` }));
      const { lastEvent } = await snapshot();
      const [answerA, answerB] = await Promise.all([registerAll(onA, callA), registerAll(onB, callB)]);
      expect(answerA.map((instance) => instance.version)).toEqual(callA.map(() => `${round}.0.0`));
      expect(answerB.map((instance) => instance.version)).toEqual(callB.map(() => `${round}.1.0`));

      // Each call's events are one append: consecutive, in its input order; the later call's come after all of the other's.
      const events = await eventsAfter(lastEvent);
      expect(events).toHaveLength(120);
      const [earlier, later] = events[0]!.data.id === callA[0]!.id ? [callA, callB] : [callB, callA];
      expect(events.map((event) => event.data.id)).toEqual([...earlier, ...later].map((input) => input.id));

      // Each id ends as its last event says, which is the later call's where both named it.
      const lastFor = new Map(events.map((event) => [event.data.id, event.data.instance]));
      const rows = await servers.database.sql<
        { id: string; version: string; address: string }[]
      >`select id, version, address from services where name = 'race'`;
      expect(rows).toHaveLength(80);
      for (const row of rows) {
        expect({ version: lastFor.get(row.id)!['version'], address: lastFor.get(row.id)!['address'] }).toEqual({ version: row.version, address: row.address });
        const wanted = later.find((input) => input.id === row.id) ?? earlier.find((input) => input.id === row.id)!;
        expect(row.version).toBe(wanted.version);
      }
    }
  });
});
