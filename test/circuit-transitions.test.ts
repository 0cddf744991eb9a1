import { beforeAll, describe, expect, it } from 'vitest';
import {
  EventsDocument,
  RegisterServiceDocument,
  ReportCallOutcomeDocument,
  SelectInstanceDocument,
  SelectInstanceExplainedDocument,
  type LoadBalancingStrategy,
} from '@switchboard/client';
import { SYSTEM_PRINCIPAL } from '../src/registry/access/index.js';
import { applyOutcomes, type BreakerConfig } from '../src/registry/breakers/index.js';
import { HalfOpenMemo } from '../src/registry/selection/index.js';
import { instance, type SwitchboardClient } from './support/client.js';
import { eventually, sleep, withTimeout } from './support/wait.js';
import { useServerPair } from './support/nodes.js';

/**
 * Breaker transitions as the event log records them, on two `switchboard serve`
 * processes sharing one database (the breaker is shared through it), plus what
 * selection does with a half-open instance.
 */
const COOLDOWN_MS = 1_000;
const config: BreakerConfig = { windowMs: 30_000, minCalls: 5, failureRatio: 0.5, cooldownMs: COOLDOWN_MS, halfOpenProbes: 1, slowCallMs: undefined };

const servers = useServerPair({ SWITCHBOARD_BREAKER_COOLDOWN: `${COOLDOWN_MS}ms`, SWITCHBOARD_BREAKER_MIN_CALLS: String(config.minCalls) });
const { clients } = servers;
let onA: SwitchboardClient;
let onB: SwitchboardClient;

beforeAll(() => {
  onA = clients.create(servers.a.url);
  onB = clients.create(servers.b.url);
});

let serial = 0;
async function service(size: number): Promise<{ name: string; ids: string[] }> {
  serial += 1;
  const name = `breaker-${serial}`;
  const ids = Array.from({ length: size }, (_, i) => `${name}-${i}`);
  for (const id of ids) await onA.request(RegisterServiceDocument, { input: instance({ id, name }) });
  return { name, ids };
}

const report = (client: SwitchboardClient, id: string, success: boolean, times = 1) =>
  Promise.all(Array.from({ length: times }, () => client.request(ReportCallOutcomeDocument, { id, success })));

const select = async (client: SwitchboardClient, service: string, strategy?: LoadBalancingStrategy) =>
  (await client.request(SelectInstanceDocument, { service, strategy })).selectInstance?.id ?? null;

const explain = async (client: SwitchboardClient, service: string, strategy?: LoadBalancingStrategy) =>
  (await client.request(SelectInstanceExplainedDocument, { service, strategy })).selectInstanceExplained;

/** The cooldown lapsing, whatever the breaker's state: time passing is the subject (a cooldown ends, a probe budget renews). */
const pastCooldown = () => sleep(COOLDOWN_MS + 100);

/** Until the servers of `via` explain the instance as half-open: an open breaker's cooldown has passed (explaining takes no probe). */
async function untilHalfOpen(name: string, id: string, via: SwitchboardClient[] = [onA]): Promise<void> {
  for (const client of via) {
    await eventually(
      async () => ((await explain(client, name)).candidates.find((c) => c.instance.id === id)?.circuit === 'HALF_OPEN' ? true : undefined),
      10_000,
    );
  }
}

interface Transition {
  type: string;
  from: string;
  to: string;
}

/** The instance's circuit.* events, as the `events` query returns them. */
async function transitions(id: string): Promise<Transition[]> {
  const { events } = await onA.request(EventsDocument, { types: ['circuit.*'], first: 1000 });
  return events
    .map((event) => ({ type: event.type, data: event.data as { id: string; from: string; to: string } }))
    .filter((event) => event.data.id === id)
    .map((event) => ({ type: event.type, from: event.data.from, to: event.data.to }));
}

async function storedState(id: string): Promise<string | undefined> {
  const [row] = await servers.database.sql<{ state: string }[]>`select state from circuit_breakers where service_id = ${id}`;
  return row?.state;
}

const opened = (from: string): Transition => ({ type: 'circuit.opened', from, to: 'OPEN' });
const halfOpened: Transition = { type: 'circuit.half_opened', from: 'OPEN', to: 'HALF_OPEN' };
const closed: Transition = { type: 'circuit.closed', from: 'HALF_OPEN', to: 'CLOSED' };

describe('circuit events name the state they left', () => {
  it('the cooldown passing records OPEN -> HALF_OPEN by itself, and a selection then gets the probe', async () => {
    const { name, ids } = await service(1);
    await report(onA, ids[0]!, false, config.minCalls);
    // No selection, no report: the sweep writes the transition down once the cooldown is over.
    await eventually(async () => ((await transitions(ids[0]!)).length === 2 ? true : undefined), 5_000, 100);
    expect(await transitions(ids[0]!)).toEqual([opened('CLOSED'), halfOpened]);
    expect(await select(onB, name)).toBe(ids[0]); // the probe
    expect(await select(onB, name)).toBeNull(); // its budget of one is spent
    expect(await transitions(ids[0]!)).toEqual([opened('CLOSED'), halfOpened]);
  });

  it('an outcome reported after the cooldown, before anything wrote it down: OPEN -> HALF_OPEN comes first', async () => {
    const { ids } = await service(1);
    const id = ids[0]!;
    await report(onA, id, false, config.minCalls);
    const [row] = await servers.database.sql<
      { openedMs: string }[]
    >`select (extract(epoch from opened_at) * 1000)::bigint as "openedMs" from circuit_breakers where service_id = ${id}`;
    // Stamped just past the cooldown while the real clock is still inside it, so no sweep got there first.
    await applyOutcomes(
      servers.database.db,
      new Map([[id, [{ success: true, at: Number(row!.openedMs) + COOLDOWN_MS + 1, principal: SYSTEM_PRINCIPAL }]]]),
      config,
    );
    expect(await transitions(id)).toEqual([opened('CLOSED'), halfOpened, closed]);
  });

  it('one coalesced batch holding a half-open success and then failures: closed leaves HALF_OPEN, opened leaves CLOSED', async () => {
    const { name, ids } = await service(1);
    const id = ids[0]!;
    await report(onA, id, false, config.minCalls);
    await untilHalfOpen(name, id);
    expect(await select(onA, name)).toBe(id); // half-open, probe granted
    // One batch, as the outcome reporter writes it when reports arrive together.
    const now = Date.now();
    const batch = [
      { success: true, at: now, principal: SYSTEM_PRINCIPAL },
      ...Array.from({ length: config.minCalls }, (_, i) => ({ success: false, at: now + 1 + i, principal: SYSTEM_PRINCIPAL })),
    ];
    await applyOutcomes(servers.database.db, new Map([[id, batch]]), config);
    expect(await transitions(id)).toEqual([opened('CLOSED'), halfOpened, closed, opened('CLOSED')]);
  });

  it('a random scenario over two servers: every circuit event leaves the state the previous one entered', async () => {
    const { name, ids } = await service(2);
    const id = ids[0]!;
    const seed = Date.now() % 2 ** 31;
    const random = mulberry32(seed);
    const servers = [onA, onB];
    const step = async (client: SwitchboardClient) => {
      const roll = random();
      if (roll < 0.45) await report(client, id, false, 1 + Math.floor(random() * config.minCalls));
      else if (roll < 0.7) await report(client, id, true, 1 + Math.floor(random() * 2));
      else await Promise.all(Array.from({ length: 1 + Math.floor(random() * 3) }, () => select(client, name, 'RANDOM')));
    };
    for (let round = 0; round < 14; round++) {
      // Both servers at once, so their writes interleave on the breaker's row.
      await Promise.all(servers.map(step));
      if (random() < 0.2) await pastCooldown();
    }
    // Every kind of transition at least once, whatever the draw was (successes earlier in
    // the window may need more failures before the circuit opens).
    for (let tries = 0; (await storedState(id)) !== 'OPEN' && tries < 20; tries++) await report(onA, id, false, config.minCalls);
    await untilHalfOpen(name, id, [onB, onA]);
    await Promise.all([select(onB, name, 'RANDOM'), select(onB, name, 'RANDOM'), select(onA, name, 'RANDOM')]);
    await report(onA, id, true);

    const events = await transitions(id);
    const kinds = new Set(events.map((event) => event.type));
    expect(kinds, `seed ${seed}`).toEqual(new Set(['circuit.opened', 'circuit.half_opened', 'circuit.closed']));
    let state = 'CLOSED';
    for (const [index, event] of events.entries()) {
      expect(event.from, `seed ${seed}, event ${index} of ${JSON.stringify(events)}`).toBe(state);
      expect(`${event.from} -> ${event.to}`, `seed ${seed}, event ${index}: ${event.type}`).toBe(
        {
          'circuit.opened': `${event.from === 'HALF_OPEN' ? 'HALF_OPEN' : 'CLOSED'} -> OPEN`,
          'circuit.half_opened': 'OPEN -> HALF_OPEN',
          'circuit.closed': 'HALF_OPEN -> CLOSED',
        }[event.type],
      );
      state = event.to;
    }
    expect(await storedState(id), `seed ${seed}`).toBe(state);
  });
});

describe('selection of a half-open instance', () => {
  it('explaining takes no probe: selectInstanceExplained, then selectInstance still gets it', async () => {
    const { name, ids } = await service(1);
    await report(onA, ids[0]!, false, config.minCalls);
    await untilHalfOpen(name, ids[0]!);
    for (let i = 0; i < 3; i++) {
      const explained = await explain(onA, name);
      expect(explained.selected?.id).toBe(ids[0]);
      expect(explained.candidates[0]).toMatchObject({ circuit: 'HALF_OPEN', exclusions: [] });
    }
    expect(await select(onA, name)).toBe(ids[0]);
    expect(await select(onA, name)).toBeNull(); // the one probe is now out
    expect(await transitions(ids[0]!)).toEqual([opened('CLOSED'), halfOpened]);
  });

  it('explaining does not move the round-robin rotation: each explanation names the next pick', async () => {
    const { name } = await service(3);
    for (let i = 0; i < 6; i++) {
      const explained = await explain(onA, name, 'ROUND_ROBIN');
      expect(await select(onA, name, 'ROUND_ROBIN')).toBe(explained.selected?.id);
    }
  });

  it('a half-open instance with no probe left is skipped without waiting on its breaker row', async () => {
    const { name, ids } = await service(1);
    const id = ids[0]!;
    await report(onA, id, false, config.minCalls);
    await untilHalfOpen(name, id);
    expect(await select(onA, name)).toBe(id); // the probe
    expect(await select(onA, name)).toBeNull(); // found busy: remembered for a moment

    // Another writer holds the breaker's row (a grant or an outcome batch on another server).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const holder = servers.database.sql.begin(async (tx) => {
      await tx`select 1 from circuit_breakers where service_id = ${id} for update`;
      locked();
      await held;
    });
    try {
      await lockTaken;
      // Remembered as busy, so no transaction is started and nothing waits for the lock
      // (without the memo, this selection waits until the lock is released below).
      expect(await withTimeout(select(onA, name), 2_000, 'selection waited on the locked breaker row')).toBeNull();
    } finally {
      release();
      await holder;
    }
  });
});

describe('the half-open memo', () => {
  it('is bounded: past its size, the least recently marked instances are evicted', () => {
    const memo = new HalfOpenMemo({ max: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) memo.markBusy(id, 1_000);
    expect(memo.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((id) => memo.isBusy(id))).toEqual([false, false, true, true, true]);
  });

  it('forgets an instance once its time is up', async () => {
    const memo = new HalfOpenMemo();
    memo.markBusy('x', 50);
    expect(memo.isBusy('x')).toBe(true);
    await sleep(80); // its 50 ms passing, with nothing else happening, is the subject
    expect(memo.isBusy('x')).toBe(false);
  });
});

/** A small seeded generator, so a failing draw can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
