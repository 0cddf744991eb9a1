import { afterEach, describe, expect, it, vi } from 'vitest';
import { CreateTokenDocument, OnEventsDocument, PublishEventDocument } from '@switchboard/client';
import { Authenticator } from '../src/server/auth.js';
import { callAt, MAX_TIMEOUT_MS } from '../src/timers.js';
import { take } from './support/client.js';
import { withTimeout } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';

const DAY_MS = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('callAt (a wall-clock deadline beyond what setTimeout holds)', () => {
  it('fires at 40 days, not at the 24.8-day setTimeout maximum', () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const onDue = vi.fn();
    callAt(new Date(Date.now() + 40 * DAY_MS), onDue);

    vi.advanceTimersByTime(MAX_TIMEOUT_MS + 1_000);
    expect(onDue).not.toHaveBeenCalled();
    vi.advanceTimersByTime(40 * DAY_MS - MAX_TIMEOUT_MS - 2_000);
    expect(onDue).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1_000);
    expect(onDue).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(100 * DAY_MS);
    expect(onDue).toHaveBeenCalledTimes(1);
  });

  it('fires soon for a near deadline, asynchronously for a past one, and never once cancelled', () => {
    vi.useFakeTimers();
    const near = vi.fn();
    callAt(new Date(Date.now() + 500), near);
    const past = vi.fn();
    callAt(new Date(Date.now() - 1_000), past);
    expect(past).not.toHaveBeenCalled();
    const cancelled = vi.fn();
    const cancel = callAt(new Date(Date.now() + 30 * DAY_MS), cancelled);

    vi.advanceTimersByTime(1);
    expect(past).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(499);
    expect(near).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    cancel();
    vi.advanceTimersByTime(60 * DAY_MS);
    expect(cancelled).not.toHaveBeenCalled();
  });
});

describe('a ten-year token', () => {
  const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: 'token-expiry-admin-0123456789' });

  async function tenYearToken(): Promise<string> {
    const admin = registry.clients.create(registry.node.url, 'token-expiry-admin-0123456789');
    const { createToken } = await admin.request(CreateTokenDocument, {
      input: { name: `ten-years-${Math.random()}`, scopes: ['READ', 'WRITE'], expiresIn: `${10 * 365 * 24}h` },
    });
    expect(Date.parse(createToken.details.expiresAt!) - Date.now()).toBeGreaterThan(9 * 365 * DAY_MS);
    return createToken.token;
  }

  it('keeps its WebSocket connection and subscription open (a plain setTimeout of ten years fires after 1 ms)', async () => {
    const client = registry.clients.create(registry.node.url, await tenYearToken());
    const stream = client.subscribe(OnEventsDocument, { types: ['expiry.ping'], after: '0' });
    await client.request(PublishEventDocument, { input: { type: 'expiry.ping', source: 'test', data: { n: 1 } } });
    expect((await take(stream, 1))[0]!.events.data).toEqual({ n: 1 });

    // The connection outlived the first event; it still carries the next one.
    await client.request(PublishEventDocument, { input: { type: 'expiry.ping', source: 'test', data: { n: 2 } } });
    const [next] = await withTimeout(take(stream, 1), 5_000, 'the connection closed: its ten-year token counted as expired');
    expect(next!.events.data).toEqual({ n: 2 });
    await stream.return!();
  });

  it("ends what the token holds open at its expiry, not at the 24.8-day mark: the server's watch, on the clock injected", async () => {
    // The token is verified against the real database first; only then is the clock faked, for
    // the watch alone (the node itself keeps real time: faking its timers strands its own waits).
    const authenticator = new Authenticator(registry.database.db, 'token-expiry-admin-0123456789');
    const principal = (await authenticator.authenticate(await tenYearToken()))!;
    expect(principal.expiresAt).toBeInstanceOf(Date);

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const ends: string[] = [];
    const stop = authenticator.onEnd(principal, (why) => ends.push(why));
    vi.advanceTimersByTime(25 * DAY_MS);
    expect(ends).toEqual([]);
    vi.setSystemTime(principal.expiresAt!.getTime() - 1_000);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    expect(ends).toEqual(['expired']);
    stop();
  });
});
