import { describe, expect, it } from 'vitest';
import { CreateTokenDocument } from '@switchboard/client';
import { useServerPair } from './support/nodes.js';

/**
 * Consul's `?cas=<ModifyIndex>` from hundreds of writers at once, on one key, through two server
 * processes, with tokens of two prefixes. The Consul route turns a ModifyIndex into the version
 * the domain's compare-and-set expects (a read, then the write): whatever the interleaving, each
 * index must be won exactly once, by a writer that may write the key, and the stored history
 * must be the winners in order (the serial order the answers describe).
 */
const ADMIN_TOKEN = 'consul-cas-races-admin-token';
const servers = useServerPair({ SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN });

const WRITERS = 200;
const ROUNDS = 3;

async function token(name: string, keyPrefix: string): Promise<string> {
  const admin = servers.clients.create(servers.a.url, ADMIN_TOKEN);
  const { createToken } = await admin.request(CreateTokenDocument, { input: { name, scopes: ['WRITE'], keyPrefix } });
  return createToken.token;
}

async function kv(serverUrl: string, method: 'GET' | 'PUT', path: string, secret: string, body?: string): Promise<Response> {
  return fetch(`${new URL(serverUrl).origin}/v1/kv/${path}`, { method, body, headers: { 'x-consul-token': secret } });
}

describe('Consul compare-and-set races across two processes', () => {
  it(`${WRITERS} writers per round on one key: each ModifyIndex is won once, only by an owner, in serial order`, async () => {
    const owner = await token('cas-owner', 'casrace');
    const stranger = await token('cas-stranger', 'other');
    expect(await (await kv(servers.a.url, 'PUT', 'casrace/key', owner, 'start')).json()).toBe(true);

    const winners: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [pair] = (await (await kv(servers.b.url, 'GET', 'casrace/key', owner)).json()) as { ModifyIndex: number }[];
      const index = pair!.ModifyIndex;
      const answers = await Promise.all(
        Array.from({ length: WRITERS }, async (_, i) => {
          const server = i % 2 === 0 ? servers.a.url : servers.b.url;
          // Every fourth writer holds a token of another prefix: it must never win, whatever the race.
          const secret = i % 4 === 3 ? stranger : owner;
          const value = `r${round}-w${i}`;
          const response = await kv(server, 'PUT', `casrace/key?cas=${index}`, secret, value);
          return { i, value, status: response.status, won: response.status === 200 ? ((await response.json()) as boolean) : false };
        }),
      );
      const strangers = answers.filter(({ i }) => i % 4 === 3);
      expect(strangers.map(({ status }) => status)).toEqual(strangers.map(() => 403));
      const won = answers.filter(({ won }) => won);
      expect(won, `round ${round}: exactly one writer wins the index`).toHaveLength(1);
      expect(answers.filter(({ i }) => i % 4 !== 3).every(({ status }) => status === 200)).toBe(true);
      winners.push(won[0]!.value);

      // The stored value is the winner's, and its ModifyIndex moved on from the one raced for.
      const [after] = (await (await kv(servers.a.url, 'GET', 'casrace/key', owner)).json()) as { ModifyIndex: number; Value: string }[];
      expect(Buffer.from(after!.Value, 'base64').toString()).toBe(won[0]!.value);
      expect(after!.ModifyIndex).toBeGreaterThan(index);
    }

    // One version and one event per win, in the order the answers describe.
    const history = await servers.database.sql<{ value: string }[]>`
      select value #>> '{}' as value from config_history where key = 'casrace.key' order by version`;
    expect(history.map(({ value }) => value)).toEqual(['start', ...winners]);
    const [events] = await servers.database.sql<{ n: number }[]>`
      select count(*)::int as n from events where type = 'config.changed' and data->>'key' = 'casrace.key'`;
    expect(events!.n).toBe(ROUNDS + 1);
  }, 120_000);
});
