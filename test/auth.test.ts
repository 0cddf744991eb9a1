import { describe, expect, it } from 'vitest';
import { LatestEventIdDocument, OnEventsDocument, RegisterServiceDocument } from '@switchboard/client';
import { errorCode, instance, take } from './support/client.js';
import { withTimeout } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: TOKEN });

const rowCount = async () => (await registry.database.sql<{ n: number }[]>`select count(*)::int as n from services`)[0]!.n;

describe('with SWITCHBOARD_ADMIN_TOKEN set', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer not-the-token'],
    ['the token without the Bearer scheme but wrong', 'test-admin-token'],
    ['an empty bearer', 'Bearer '],
  ])('HTTP with %s is UNAUTHENTICATED (401) and writes nothing', async (_label, authorization) => {
    const response = await fetch(registry.node.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
      body: JSON.stringify({ query: 'mutation { registerService(input: { id: "x-1", name: "x", version: "1.0.0", address: "h", port: 1 }) { id } }' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0]!.message).not.toContain(TOKEN);
    expect(await rowCount()).toBe(0);
  });

  it('HTTP with the token works', async () => {
    const client = registry.clients.create(registry.node.url, TOKEN);
    const { registerService } = await client.request(RegisterServiceDocument, { input: instance({ id: 'authorized-1' }) });
    expect(registerService.id).toBe('authorized-1');
    expect(await errorCode(registry.clients.create(registry.node.url, 'wrong-token').request(LatestEventIdDocument))).toBe('UNAUTHENTICATED');
  });

  it('WebSocket without the token, or with a wrong one, is closed with 4401', async () => {
    for (const token of [undefined, 'wrong-token-wrong-token']) {
      const stream = registry.clients.create(registry.node.url, token).subscribe(OnEventsDocument, { after: '0' });
      await expect(withTimeout(stream.next(), 5_000, 'not closed')).rejects.toMatchObject({ code: 4401 });
    }
  });

  it('WebSocket with the token in connectionParams.authorization works', async () => {
    const client = registry.clients.create(registry.node.url, TOKEN);
    const { latestEventId } = await client.request(LatestEventIdDocument);
    const stream = client.subscribe(OnEventsDocument, { after: latestEventId });
    // The event this test makes, not one a test before it left behind.
    await client.request(RegisterServiceDocument, { input: instance({ id: 'ws-authorized-1' }) });
    const [first] = await take(stream, 1);
    expect(first!.events).toMatchObject({ type: 'service.registered', data: { id: 'ws-authorized-1' } });
    await stream.return!();
  });

  it('probes and the GraphiQL page need no token', async () => {
    const origin = new URL(registry.node.url).origin;
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);
    const page = await fetch(registry.node.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('GraphiQL');
  });
});
