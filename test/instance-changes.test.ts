import { describe, expect, it } from 'vitest';
import {
  LatestEventIdDocument,
  OnInstancesChangedDocument,
  RegisterServiceDocument,
  SetMaintenanceDocument,
  UnregisterServiceDocument,
  type OnInstancesChangedSubscription,
} from '@switchboard/client';
import { errorCode, instance, take } from './support/client.js';
import { startTestNode, useRegistryNode } from './support/nodes.js';

const registry = useRegistryNode();

type Change = OnInstancesChangedSubscription['instancesChanged'];

/** What a change says, in one line: its type, the service, the instance, and what happened to it. */
function describeChange(change: Change): string {
  return change.__typename === 'ServiceChange'
    ? `service ${change.name} ${change.serviceId} ${change.kind}`
    : `health ${change.name} ${change.serviceId} ${change.instanceStatus}`;
}

describe('instancesChanged: several services on one subscription', () => {
  it('delivers catalog and health changes of the listed names only, in event-id order, and resumes after `after`', async () => {
    const client = registry.clients.create(registry.node.url);
    const { latestEventId: start } = await client.request(LatestEventIdDocument);
    const changes = client.subscribe(OnInstancesChangedDocument, { names: ['orders', 'ledger'], after: start });

    await client.request(RegisterServiceDocument, { input: instance({ id: 'orders-1', name: 'orders' }) });
    await client.request(RegisterServiceDocument, { input: instance({ id: 'unlisted-1', name: 'unlisted' }) });
    await client.request(RegisterServiceDocument, { input: instance({ id: 'ledger-1', name: 'ledger' }) });
    await client.request(SetMaintenanceDocument, { id: 'unlisted-1', enabled: true });
    await client.request(SetMaintenanceDocument, { id: 'orders-1', enabled: true });
    await client.request(UnregisterServiceDocument, { id: 'ledger-1' });
    await client.request(UnregisterServiceDocument, { id: 'unlisted-1' });
    await client.request(RegisterServiceDocument, { input: instance({ id: 'ledger-2', name: 'ledger' }) });

    const expected = [
      'service orders orders-1 REGISTERED',
      'service ledger ledger-1 REGISTERED',
      'health orders orders-1 CRITICAL',
      'service ledger ledger-1 DEREGISTERED',
      'service ledger ledger-2 REGISTERED',
    ];
    const received = (await take(changes, 5)).map(({ instancesChanged }) => instancesChanged);
    await changes.return!();
    expect(received.map(describeChange)).toEqual(expected);
    const ids = received.map((change) => Number(change.eventId));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    // Resumed after the second change: the third onwards, each once.
    const resumed = client.subscribe(OnInstancesChangedDocument, { names: ['orders', 'ledger'], after: received[1]!.eventId });
    expect((await take(resumed, 3)).map(({ instancesChanged }) => describeChange(instancesChanged))).toEqual(expected.slice(2));
    await client.request(RegisterServiceDocument, { input: instance({ id: 'orders-2', name: 'orders' }) });
    expect((await take(resumed, 1)).map(({ instancesChanged }) => describeChange(instancesChanged))).toEqual(['service orders orders-2 REGISTERED']);
    await resumed.return!();

    // A node started now holds none of these in memory: the same changes, read from the table.
    const late = await startTestNode(registry.database.url);
    try {
      const replay = registry.clients.create(late.url).subscribe(OnInstancesChangedDocument, { names: ['ledger', 'orders'], after: start });
      expect((await take(replay, 6)).map(({ instancesChanged }) => describeChange(instancesChanged))).toEqual([
        ...expected,
        'service orders orders-2 REGISTERED',
      ]);
      await replay.return!();
    } finally {
      await late.stop();
    }
  });

  it('refuses an empty list of names and an impossible name', async () => {
    const client = registry.clients.create(registry.node.url);
    expect(await errorCode(client.subscribe(OnInstancesChangedDocument, { names: [] }).next())).toBe('BAD_USER_INPUT');
    expect(await errorCode(client.subscribe(OnInstancesChangedDocument, { names: ['ok', 'x'.repeat(129)] }).next())).toBe('BAD_USER_INPUT');
  });
});
