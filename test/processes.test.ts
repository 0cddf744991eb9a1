import { describe, expect, it } from 'vitest';
import {
  CircuitBreakerDocument,
  DeleteConfigDocument,
  EventsDocument,
  ReportCallOutcomeDocument,
  SelectInstanceExplainedDocument,
  UnregisterServiceDocument,
  UpdateWeightDocument,
  LatestEventIdDocument,
  OnConfigChangedDocument,
  OnEventsDocument,
  OnServiceChangedDocument,
  PublishEventDocument,
  RegisterServiceDocument,
  SetConfigDocument,
} from '@switchboard/client';
import { instance, take } from './support/client.js';
import { eventually } from './support/wait.js';
import { useServerPair } from './support/nodes.js';
import { picks } from './support/selection.js';

/** Two `switchboard serve` processes sharing one database, as in production; a short breaker cooldown, so half-open comes within a test. */
const servers = useServerPair({ SWITCHBOARD_BREAKER_COOLDOWN: '1s' });
const { clients } = servers;

type Candidate = { instance: { id: string }; weight: number; circuit: string };

/**
 * Selection on a server reads its in-memory catalog, which has another server's write once its
 * event feed has read it (normally the NOTIFY round trip). The tests wait until the server's
 * candidates show the write, then assert selection strictly.
 */
async function untilCandidatesOn(url: string, service: string, shown: (candidates: Candidate[]) => boolean): Promise<void> {
  const reader = clients.create(url);
  await eventually(async () => {
    const { selectInstanceExplained } = await reader.request(SelectInstanceExplainedDocument, { service });
    return shown(selectInstanceExplained.candidates) ? true : undefined;
  });
}

describe('two server processes on one database', () => {
  it('a registration on A reaches a serviceChanged subscriber on B', async () => {
    const onA = clients.create(servers.a.url);
    const onB = clients.create(servers.b.url);
    const { latestEventId } = await onB.request(LatestEventIdDocument);
    const changes = onB.subscribe(OnServiceChangedDocument, { name: 'cross', after: latestEventId });

    await onA.request(RegisterServiceDocument, { input: instance({ id: 'cross-1', name: 'cross', address: '10.1.2.3' }) });

    const [change] = await take(changes, 1);
    expect(change!.serviceChanged).toMatchObject({ kind: 'REGISTERED', serviceId: 'cross-1', instance: { address: '10.1.2.3' } });
    await changes.return!();
  });

  it('under 400 concurrent writes on both, a subscriber that disconnects and resumes elsewhere gets every event once, in order', async () => {
    const perNode = 200; // half registrations, half custom events
    const concurrency = 16;
    const writerA = clients.create(servers.a.url);
    const writerB = clients.create(servers.b.url);
    const { latestEventId: start } = await writerA.request(LatestEventIdDocument);

    const firstSubscriber = clients.create(servers.b.url);
    const firstStream = firstSubscriber.subscribe(OnEventsDocument, { after: start });

    const write = async (writer: typeof writerA, prefix: string) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < perNode) {
            const i = next++;
            if (i % 2 === 0) {
              await writer.request(RegisterServiceDocument, { input: instance({ id: `${prefix}-${i}`, name: 'load' }) });
            } else {
              await writer.request(PublishEventDocument, { input: { type: 'load.tick', source: prefix, data: { id: `${prefix}-${i}` } } });
            }
          }
        }),
      );
    };
    const writing = Promise.all([write(writerA, 'from-a'), write(writerB, 'from-b')]);

    // Read part of the stream, then drop the connection while writers keep going.
    const beforeDrop = await take(firstStream, 120, 20_000);
    await firstSubscriber.close();

    // Resume on the other process from the last event seen.
    const resumedSubscriber = clients.create(servers.a.url);
    const resumedStream = resumedSubscriber.subscribe(OnEventsDocument, { after: beforeDrop.at(-1)!.events.id });
    await writing;
    const afterResume = await take(resumedStream, 2 * perNode - beforeDrop.length, 20_000);

    const received = [...beforeDrop, ...afterResume].map((value) => value.events);
    const ids = received.map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);

    const committed = await servers.database.sql<{ id: string }[]>`select id from events where id > ${Number(start)} order by id`;
    expect(ids).toEqual(committed.map((row) => Number(row.id)));
    const writes = new Set(received.map((event) => (event.data as { id: string }).id));
    expect(writes.size).toBe(2 * perNode);
    await resumedStream.return!();
  });

  it('a config change on A reaches a configChanged watcher on B with old and new values, global fallback included', async () => {
    const onA = clients.create(servers.a.url);
    const onB = clients.create(servers.b.url);
    const { latestEventId } = await onB.request(LatestEventIdDocument);
    const prodWatcher = onB.subscribe(OnConfigChangedDocument, { key: 'payments.timeout', environment: 'prod', after: latestEventId });

    await onA.request(SetConfigDocument, { key: 'payments.timeout', value: '30s' }); // global, shows through in prod
    await onA.request(SetConfigDocument, { key: 'payments.timeout', value: '45s', environment: 'prod' });
    await onA.request(SetConfigDocument, { key: 'payments.timeout', value: '40s' }); // hidden: prod has its own
    await onA.request(DeleteConfigDocument, { key: 'payments.timeout', environment: 'prod' }); // prod falls back to 40s

    const changes = await take(prodWatcher, 3);
    expect(changes.map(({ configChanged: c }) => [c.oldValue, c.newValue, c.environment, c.inherited, c.deleted])).toEqual([
      [null, '30s', null, true, false],
      ['30s', '45s', 'prod', false, false],
      ['45s', '40s', null, true, true], // prod's entry deleted: the global value answers, as config() says
    ]);
    await prodWatcher.return!();
  });

  it('consistent hashing gives the same answer on both, and removing an instance moves only its keys', async () => {
    const onA = clients.create(servers.a.url);
    const ids = Array.from({ length: 5 }, (_, i) => `hashed-${i}`);
    for (const id of ids) await onA.request(RegisterServiceDocument, { input: instance({ id, name: 'hashed' }) });
    await untilCandidatesOn(servers.b.url, 'hashed', (candidates) => candidates.length === ids.length);
    const key = (i: number) => `session-${i}`;

    const fromA = await picks(servers.a.url, 'hashed', 1000, 'CONSISTENT_HASH', key);
    const fromB = await picks(servers.b.url, 'hashed', 1000, 'CONSISTENT_HASH', key);
    expect(fromB).toEqual(fromA);

    await onA.request(UnregisterServiceDocument, { id: ids[3]! });
    await untilCandidatesOn(servers.b.url, 'hashed', (candidates) => candidates.length === ids.length - 1);
    const after = await picks(servers.b.url, 'hashed', 1000, 'CONSISTENT_HASH', key);
    const stayedEligible = fromA.filter((id) => id !== ids[3]);
    const moved = fromA.filter((id, i) => id !== ids[3] && after[i] !== id).length;
    expect(moved / stayedEligible.length).toBeLessThanOrEqual(0.05);
  });

  it('a breaker opened by reports to A is open on B; its half-open probe is granted once across both; success closes it', async () => {
    const onA = clients.create(servers.a.url);
    const onB = clients.create(servers.b.url);
    const ids = ['guarded-0', 'guarded-1'];
    for (const id of ids) await onA.request(RegisterServiceDocument, { input: instance({ id, name: 'guarded' }) });
    await untilCandidatesOn(servers.b.url, 'guarded', (candidates) => candidates.length === 2);
    const { latestEventId } = await onA.request(LatestEventIdDocument);

    await Promise.all(Array.from({ length: 5 }, () => onA.request(ReportCallOutcomeDocument, { id: ids[0]!, success: false })));
    expect((await onB.request(CircuitBreakerDocument, { id: ids[0]! })).service!.circuitBreaker.state).toBe('OPEN');
    await untilCandidatesOn(servers.b.url, 'guarded', (candidates) => candidates.some((c) => c.instance.id === ids[0] && c.circuit === 'OPEN'));
    expect(new Set(await picks(servers.b.url, 'guarded', 50, 'RANDOM'))).toEqual(new Set([ids[1]]));

    // The cooldown passes: both servers see the breaker half-open (explaining takes no probe).
    for (const url of [servers.b.url, servers.a.url]) {
      await untilCandidatesOn(url, 'guarded', (candidates) => candidates.some((c) => c.instance.id === ids[0] && c.circuit === 'HALF_OPEN'));
    }
    const fromBoth = [...(await picks(servers.b.url, 'guarded', 50, 'ROUND_ROBIN')), ...(await picks(servers.a.url, 'guarded', 50, 'ROUND_ROBIN'))];
    expect(fromBoth.filter((id) => id === ids[0])).toHaveLength(1); // one probe, whichever server asked first

    await onB.request(ReportCallOutcomeDocument, { id: ids[0]!, success: true });
    expect((await onA.request(CircuitBreakerDocument, { id: ids[0]! })).service!.circuitBreaker.state).toBe('CLOSED');
    const { events } = await onA.request(EventsDocument, { after: latestEventId, types: ['circuit.*'] });
    expect(events.map((event) => event.type)).toEqual(['circuit.opened', 'circuit.half_opened', 'circuit.closed']);
  });

  it('a weight changed on A takes effect on B', async () => {
    const onA = clients.create(servers.a.url);
    const ids = ['weighed-0', 'weighed-1'];
    for (const id of ids) await onA.request(RegisterServiceDocument, { input: instance({ id, name: 'weighed' }) });
    await onA.request(UpdateWeightDocument, { id: ids[0]!, weight: 0 });
    await untilCandidatesOn(servers.b.url, 'weighed', (candidates) => candidates.some((c) => c.instance.id === ids[0] && c.weight === 0));
    expect(new Set(await picks(servers.b.url, 'weighed', 100, 'WEIGHTED'))).toEqual(new Set([ids[1]]));
  });
});
