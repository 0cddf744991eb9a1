import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  ReportCallOutcomeDocument,
  SetMaintenanceDocument,
  UnregisterServiceDocument,
  UpdateTtlCheckDocument,
  UpdateWeightDocument,
  type SwitchboardClient,
} from '@switchboard/client';
import { clientFactory, instance } from './support/client.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { metricValue } from './support/metrics.js';
import { spawnNode, startTestNode, type NodeProcess } from './support/nodes.js';

/**
 * Each server answers discovery and selection from its in-memory catalog, kept
 * current from the event stream. These tests hold it to the database.
 */
let database: TestDatabase;
const clients = clientFactory();

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await clients.closeAll();
  await database?.drop();
});

const NAMES = ['alpha', 'beta', 'gamma'];

/** What a server's catalog says, read through the API (discovery and selection read only the catalog). */
async function catalogView(url: string): Promise<string[]> {
  const fields = NAMES.map(
    (name, i) => `
      d${i}: discoverServices(name: "${name}") { id name version weight priority tags health { status } maintenance { since } }
      s${i}: selectInstanceExplained(service: "${name}") { candidates { instance { id } circuit } }`,
  );
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ ${fields.join('\n')} }` }),
  });
  const { data } = (await response.json()) as { data: Record<string, unknown> };
  const lines: string[] = [];
  NAMES.forEach((_name, i) => {
    const circuits = new Map(
      (data[`s${i}`] as { candidates: { instance: { id: string }; circuit: string }[] }).candidates.map((c) => [c.instance.id, c.circuit]),
    );
    for (const entry of data[`d${i}`] as {
      id: string;
      name: string;
      version: string;
      weight: number;
      priority: number;
      tags: string[];
      health: { status: string };
      maintenance: unknown;
    }[]) {
      lines.push(
        [
          entry.id,
          entry.name,
          entry.version,
          entry.weight,
          entry.priority,
          entry.tags.join(','),
          entry.health.status,
          entry.maintenance ? 'maint' : '-',
          circuits.get(entry.id),
        ].join(' '),
      );
    }
  });
  return lines.sort();
}

/** The same, computed from the tables. */
async function databaseView(): Promise<string[]> {
  const rows = await database.sql<{ line: string }[]>`
    select concat_ws(' ', s.id, s.name, s.version, s.weight, s.priority, array_to_string(s.tags, ','),
             case when s.maintenance_since is not null then 'CRITICAL' else s.check_status end,
             case when s.maintenance_since is not null then 'maint' else '-' end,
             case when b.state = 'OPEN' and b.opened_at + interval '30 seconds' <= now() then 'HALF_OPEN' else coalesce(b.state, 'CLOSED') end) as line
    from services s left join circuit_breakers b on b.service_id = s.id
    where s.name in ('alpha', 'beta', 'gamma')`;
  return rows.map((row) => row.line).sort();
}

/** One random write against one server. */
async function randomWrite(client: SwitchboardClient, random: () => number): Promise<void> {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const id = `inst-${Math.floor(random() * 12)}`;
  const name = NAMES[Number(id.split('-')[1]) % NAMES.length]!;
  const ignoreErrors = (promise: Promise<unknown>) => promise.catch(() => undefined); // NOT_FOUND etc. is fine here
  switch (pick(['register', 'register', 'weight', 'unregister', 'maintenance', 'check', 'ttl', 'outcomes'])) {
    case 'register':
      return void (await client.request(RegisterServiceDocument, {
        input: instance({ id, name, version: `1.${Math.floor(random() * 3)}.0`, priority: Math.floor(random() * 2), tags: random() < 0.5 ? ['a'] : ['b'] }),
      }));
    case 'weight':
      return void (await ignoreErrors(client.request(UpdateWeightDocument, { id, weight: Math.floor(random() * 10) })));
    case 'unregister':
      return void (await ignoreErrors(client.request(UnregisterServiceDocument, { id })));
    case 'maintenance':
      return void (await ignoreErrors(client.request(SetMaintenanceDocument, { id, enabled: random() < 0.6, reason: pick(['upgrade', 'disk']) })));
    case 'check':
      return void (await ignoreErrors(client.request(RegisterHealthCheckDocument, { serviceId: id, check: { name: 'report', ttl: '1h' } })));
    case 'ttl':
      return void (await ignoreErrors(
        client.request(UpdateTtlCheckDocument, { checkId: `${id}:report`, status: pick(['PASSING', 'WARNING', 'CRITICAL'] as const) }),
      ));
    case 'outcomes':
      return void (await ignoreErrors(
        Promise.all(Array.from({ length: 5 }, () => client.request(ReportCallOutcomeDocument, { id, success: random() < 0.2 }))),
      ));
  }
}

/** A small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 2 ** 32;
    return state / 2 ** 32;
  };
}

describe('the in-memory catalog', () => {
  it("after random concurrent writes on two processes, each process's catalog equals the database", async () => {
    const [a, b] = (await Promise.all([spawnNode({ DATABASE_URL: database.url }), spawnNode({ DATABASE_URL: database.url })])) as [NodeProcess, NodeProcess];
    try {
      const writers = [a, b].flatMap((node) => [clients.create(node.url), clients.create(node.url)]);
      await Promise.all(
        writers.map(async (client, w) => {
          const random = seeded(1000 + w);
          for (let i = 0; i < 60; i++) await randomWrite(client, random);
        }),
      );
      const truth = await databaseView();
      expect(truth.length).toBeGreaterThan(0);
      for (const node of [a, b] as const) {
        // Each server follows the stream; give it a moment to apply the last events.
        await eventually(async () => {
          const view = await catalogView(node.url);
          return JSON.stringify(view) === JSON.stringify(truth) ? true : undefined;
        }, 5_000).catch(async () => expect(await catalogView(node.url)).toEqual(truth));
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it('a dropped LISTEN connection triggers a reload, and no stale entry survives it', async () => {
    const node = await startTestNode(database.url);
    try {
      const client = clients.create(node.url);
      await client.request(RegisterServiceDocument, { input: instance({ id: 'stale-1', name: 'alpha' }) });
      await client.request(RegisterServiceDocument, { input: instance({ id: 'fresh-1', name: 'alpha' }) });
      expect(node.catalog!.get('stale-1')).toBeDefined();
      const reloadsBefore = await metricValue(node.metrics, 'switchboard_catalog_reloads_total');

      // A change that never produced an event (as if its notification and row were
      // lost to this server), then the LISTEN connection dropped.
      await database.sql`delete from services where id = 'stale-1'`;
      const killed = await database.sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and query ilike 'listen%'`;
      expect(killed.length).toBeGreaterThan(0);

      await eventually(async () => ((await metricValue(node.metrics, 'switchboard_catalog_reloads_total')) > reloadsBefore ? true : undefined), 10_000);
      expect(node.catalog!.get('stale-1')).toBeUndefined();
      expect(node.catalog!.get('fresh-1')).toBeDefined();
      // And it is current again: a new registration shows up.
      await client.request(RegisterServiceDocument, { input: instance({ id: 'after-1', name: 'alpha' }) });
      expect(node.catalog!.get('after-1')).toBeDefined();
    } finally {
      await node.stop();
    }
  });

  it('a read right after a write on the same server sees the write', async () => {
    const node = await startTestNode(database.url);
    try {
      const client = clients.create(node.url);
      for (let i = 0; i < 20; i++) {
        await client.request(RegisterServiceDocument, { input: instance({ id: `ryw-${i}`, name: 'gamma', weight: i }) });
        const view = await catalogView(node.url);
        expect(view.some((line) => line.startsWith(`ryw-${i} gamma`))).toBe(true);
      }
    } finally {
      await node.stop();
    }
  });
});
