import { describe, expect, it } from 'vitest';
import {
  EventsDocument,
  HealthHistoryDocument,
  LatestEventIdDocument,
  OnEventsDocument,
  PublishEventDocument,
  RegisterServiceDocument,
  SetMaintenanceDocument,
} from '@switchboard/client';
import { pruneEvents } from '../src/events/retention.js';
import { errorCode, instance, take } from './support/client.js';
import { eventually } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';

// Keep about 20 events and 3 health transitions per instance; prune often.
const registry = useRegistryNode({
  SWITCHBOARD_EVENT_RETENTION_COUNT: '20',
  SWITCHBOARD_HEALTH_HISTORY: '3',
  SWITCHBOARD_EVENT_PRUNE_INTERVAL: '100ms',
});

const publish = (i: number) => registry.client.request(PublishEventDocument, { input: { type: 'test.retained', source: 'retention-test', data: { i } } });

describe('event retention', () => {
  it('prunes beyond the configured count, and a cursor that fell out of retention gets CURSOR_EXPIRED', async () => {
    for (let i = 0; i < 60; i++) await publish(i);
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    const latest = Number(latestEventId);

    await eventually(async () => {
      const [row] = await registry.database.sql<{ oldest: string }[]>`select min(id) as oldest from events`;
      return Number(row!.oldest) > latest - 25 ? true : undefined;
    });

    // The query and the subscription both refuse a cursor whose successors are gone …
    expect(await errorCode(registry.client.request(EventsDocument, { after: '1' }))).toBe('CURSOR_EXPIRED');
    const stale = registry.client.subscribe(OnEventsDocument, { after: '1' });
    await expect(stale.next()).rejects.toMatchObject({ code: 'CURSOR_EXPIRED' });

    // … and serve one that is still within retention, completely.
    const recent = String(latest - 10);
    const { events } = await registry.client.request(EventsDocument, { after: recent });
    expect(events.map((event) => Number(event.id))).toEqual(Array.from({ length: 10 }, (_, i) => latest - 9 + i));
    const fresh = registry.client.subscribe(OnEventsDocument, { after: recent });
    expect((await take(fresh, 10)).map((value) => Number(value.events.id))).toEqual(events.map((event) => Number(event.id)));
    await fresh.return!();
  });

  it('prunes by age, and the latest id survives an empty log', async () => {
    const { publishEvent } = await publish(1000);
    // Until the event is older than 10 ms (and the node's own sweeper, which may hold the prune lock,
    // lets go), a prune leaves it: try until the log is empty.
    await eventually(async () => {
      await pruneEvents(registry.database.db, { maxAgeMs: 10, maxCount: 1_000_000 });
      const [row] = await registry.database.sql<{ n: number }[]>`select count(*)::int as n from events`;
      return row!.n === 0 ? true : undefined;
    });
    const [state] = await registry.database.sql<{ pruned_through: string }[]>`select pruned_through from event_log_state`;
    expect(state!.pruned_through).toBe(publishEvent.id);

    // "Read latestEventId, then subscribe after it" still works on an empty log.
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    expect(latestEventId).toBe(publishEvent.id);
    const stream = registry.client.subscribe(OnEventsDocument, { after: latestEventId });
    const next = take(stream, 1);
    await publish(1001);
    expect((await next)[0]!.events.data).toEqual({ i: 1001 });
    await stream.return!();
  });
});

describe('health history retention', () => {
  it('keeps the newest SWITCHBOARD_HEALTH_HISTORY transitions of each instance, and prunes the older ones', async () => {
    const busy = { id: 'history-busy' };
    const quiet = { id: 'history-quiet' };
    for (const { id } of [busy, quiet]) await registry.client.request(RegisterServiceDocument, { input: instance({ id }) });
    // Each maintenance switch is one transition in the instance's history: six for one, two for the other.
    for (let i = 1; i <= 6; i++) {
      await registry.client.request(SetMaintenanceDocument, { id: busy.id, enabled: i % 2 === 1, reason: `round ${i}` });
    }
    for (let i = 1; i <= 2; i++) await registry.client.request(SetMaintenanceDocument, { id: quiet.id, enabled: i === 1, reason: 'once' });

    const stored = async (id: string) =>
      (await registry.database.sql<{ n: number }[]>`select count(*)::int as n from health_transitions where service_id = ${id}`)[0]!.n;
    await eventually(async () => ((await stored(busy.id)) === 3 ? true : undefined), 5_000);

    // The newest three survive, newest first; the quiet instance keeps all it had.
    const { healthHistory } = await registry.client.request(HealthHistoryDocument, { id: busy.id, last: 20 });
    expect(healthHistory.map((entry) => entry.output)).toEqual([
      'Maintenance mode disabled.',
      'Maintenance mode enabled: round 5',
      'Maintenance mode disabled.',
    ]);
    expect(await stored(quiet.id)).toBe(2);
  });
});
