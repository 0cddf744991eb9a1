import { describe, expect, it } from 'vitest';
import { SetConfigDocument } from '@switchboard/client';
import { SwitchboardRequestError } from './support/client.js';
import { useServerPair } from './support/nodes.js';

/**
 * Concurrent setConfig on two server processes sharing one database: every write must land as its
 * own version. The trap this guards: a key lock taken inside the statement that reads the key
 * protects nothing under READ COMMITTED (the read's snapshot predates the wait), so two writers
 * computed the same next version and one died on the history's primary key as INTERNAL.
 */
const servers = useServerPair();
const { clients } = servers;

describe('setConfig under concurrency, two processes', () => {
  it('400 writes over 8 keys, half to each server: no error, contiguous versions, one event per write in commit order', async () => {
    const KEYS = 8;
    const WRITES = 400;
    const onA = clients.create(servers.a.url);
    const onB = clients.create(servers.b.url);
    const [row] = await servers.database.sql<{ max: string | null }[]>`select max(id)::text as max from events`;
    const startId = row?.max ?? null;

    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: WRITES }, async (_, n) => {
        const client = n % 2 === 0 ? onA : onB;
        try {
          await client.request(SetConfigDocument, { key: `race.key${n % KEYS}`, value: { n } });
        } catch (error) {
          failures.push(error instanceof SwitchboardRequestError ? `${error.code}: ${error.message}` : String(error));
        }
      }),
    );
    expect(failures).toEqual([]);

    const history = await servers.database.sql<{ key: string; version: number; n: number }[]>`
      select key, version, (value->>'n')::int as n from config_history where key like 'race.%' order by key, version`;
    const events = await servers.database.sql<{ id: string; key: string; version: number; n: number }[]>`
      select id::text, data->>'key' as key, (data->>'version')::int as version, (data->'newValue'->>'n')::int as n
      from events where type = 'config.changed' and id > ${startId ?? '0'}::int8 and data->>'key' like 'race.%' order by events.id`;

    expect(events).toHaveLength(WRITES);
    for (let k = 0; k < KEYS; k++) {
      const key = `race.key${k}`;
      const versions = history.filter((row) => row.key === key).map((row) => row.version);
      const expected = WRITES / KEYS;
      // Versions 1..n with no gap and no repeat: each write became exactly one version.
      expect(versions).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
      // Events of a key, in id order, carry versions 1..n: ids increase in commit order.
      const keyEvents = events.filter((event) => event.key === key);
      expect(keyEvents.map((event) => event.version)).toEqual(versions);
      // Each write's value appears in exactly one event, under the version the history holds for it.
      const byVersion = new Map(history.filter((row) => row.key === key).map((row) => [row.version, row.n]));
      for (const event of keyEvents) expect(event.n).toBe(byVersion.get(event.version));
      expect(new Set(keyEvents.map((event) => event.n)).size).toBe(expected);
    }
  });
});
