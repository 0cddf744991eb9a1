import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useRegistryNode } from './support/nodes.js';

/**
 * Keys and ids come from the request target as the client sent it. fetch() (and any WHATWG URL)
 * resolves "..", "%2e%2e" and "\" before sending, so these requests go out through node:http,
 * whose `path` is sent byte for byte, as a hand-written or hostile client sends it.
 */
const ADMIN = 'consul-raw-paths-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN });

interface Raw {
  status: number;
  text: string;
}

function send(method: string, target: string, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: registry.node.port, method, path: target, headers: { 'x-consul-token': ADMIN } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The KV keys stored under a prefix (none: []). */
async function keysUnder(prefix: string): Promise<string[]> {
  const answer = await send('GET', `/v1/kv/${prefix}?keys`);
  return answer.status === 404 ? [] : (JSON.parse(answer.text) as string[]);
}

describe('paths are read as sent', () => {
  it('refuses a KV key with a dot segment, a "\\" or a "#", for every method, and writes nothing', async () => {
    expect(await send('PUT', '/v1/kv/rawkv/keep', 'kept')).toEqual({ status: 200, text: 'true' });
    const refused: [string, string, RegExp][] = [
      ['PUT', '/v1/kv/rawkv/a/../b', /"\." or "\.\." part/],
      ['PUT', '/v1/kv/rawkv/a/%2e%2e/b', /"\." or "\.\." part/],
      ['PUT', '/v1/kv/rawkv/a/%2E./b', /"\." or "\.\." part/],
      ['PUT', '/v1/kv/rawkv/a/.%2E/b', /"\." or "\.\." part/],
      ['PUT', '/v1/kv/rawkv/a/./b', /"\." or "\.\." part/],
      ['PUT', '/v1/kv/rawkv\\b', /"\\" is not allowed/],
      ['PUT', '/v1/kv/rawkv/a#b', /"#" is not allowed/],
      ['GET', '/v1/kv/rawkv/x/../keep', /"\." or "\.\." part/],
      ['GET', '/v1/kv/rawkv/x/..?recurse', /"\." or "\.\." part/],
      ['DELETE', '/v1/kv/rawkv/x/../keep', /"\." or "\.\." part/],
      ['DELETE', '/v1/kv/rawkv/keep/%2e%2e?recurse', /"\." or "\.\." part/],
      ['DELETE', '/v1/kv/rawkv/keep/.?recurse', /"\." or "\.\." part/],
    ];
    for (const [method, target, message] of refused) {
      const answer = await send(method, target, method === 'PUT' ? 'x' : undefined);
      expect([method, target, answer.status], answer.text).toEqual([method, target, 400]);
      expect(answer.text).toMatch(message);
    }
    // Nothing was written, nothing deleted: the one key is still there, with its value.
    expect(await keysUnder('rawkv')).toEqual(['rawkv/keep']);
    expect(await keysUnder('b')).toEqual([]);
    expect(await send('GET', '/v1/kv/rawkv/keep?raw')).toEqual({ status: 200, text: 'kept' });
    // An encoded "/" is the key's own "/", as in Consul (the npm consul client encodes keys so): one key, both spellings.
    expect(await send('PUT', '/v1/kv/rawkv%2Fslash', 'one')).toEqual({ status: 200, text: 'true' });
    expect(await send('GET', '/v1/kv/rawkv/slash?raw')).toEqual({ status: 200, text: 'one' });
  });

  it('refuses an id with a dot segment in agent routes, and deregisters nothing', async () => {
    for (const id of ['rawsvc-a', 'rawsvc-b']) {
      const body = JSON.stringify({ Name: 'rawsvc', ID: id, Address: '10.9.0.1', Port: 80, Check: { CheckID: `${id}/ttl`, TTL: '30s' } });
      expect((await send('PUT', '/v1/agent/service/register', body)).status).toBe(200);
    }
    const refused: [string, string][] = [
      ['PUT', '/v1/agent/service/deregister/rawsvc-a/../rawsvc-b'],
      ['GET', '/v1/agent/service/deregister/rawsvc-a/%2e%2e/rawsvc-b'],
      ['PUT', '/v1/agent/service/maintenance/x/../rawsvc-b?enable=true'],
      ['PUT', '/v1/agent/check/fail/x/%2E%2E/rawsvc-b%2Fttl'],
      ['PUT', '/v1/agent/check/deregister/x/../rawsvc-b%2Fttl'],
      ['GET', '/v1/agent/service/x/../rawsvc-b'],
      ['GET', '/v1/kv/../agent/service/deregister/rawsvc-b'],
    ];
    for (const [method, target] of refused) {
      const answer = await send(method, target);
      expect([method, target, answer.status], answer.text).toEqual([method, target, 400]);
    }
    const services = JSON.parse((await send('GET', '/v1/agent/services')).text) as Record<string, unknown>;
    expect(Object.keys(services).sort()).toEqual(['rawsvc-a', 'rawsvc-b']);
    const checks = JSON.parse((await send('GET', '/v1/health/checks/rawsvc')).text) as { CheckID: string; Status: string }[];
    expect(checks.map((check) => check.CheckID).sort()).toEqual(['rawsvc-a/ttl', 'rawsvc-b/ttl']);
    expect(checks.every((check) => check.Status === 'critical')).toBe(true); // none passed, none failed by another path

    // An encoded "/" inside one id segment is that id's own "/" (check ids may hold one), as before.
    expect((await send('PUT', '/v1/agent/check/pass/rawsvc-b%2Fttl')).status).toBe(200);
    const after = JSON.parse((await send('GET', '/v1/health/checks/rawsvc')).text) as { CheckID: string; Status: string }[];
    expect(after.find((check) => check.CheckID === 'rawsvc-b/ttl')?.Status).toBe('passing');
  });
});
