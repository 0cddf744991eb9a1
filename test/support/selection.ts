import { expect } from 'vitest';
import { RegisterServiceDocument, type LoadBalancingStrategy, type ServiceDefinitionInput, type SwitchboardClient } from '@switchboard/client';
import { instance } from './client.js';

/** Registers one instance of `name` per entry (ids `<name>-0`, `<name>-1`, …), in order; returns the ids. */
export async function registerInstances(
  client: SwitchboardClient,
  name: string,
  instances: readonly Partial<ServiceDefinitionInput>[],
): Promise<{ name: string; ids: string[] }> {
  const ids: string[] = [];
  for (const [i, overrides] of instances.entries()) {
    const id = `${name}-${i}`;
    await client.request(RegisterServiceDocument, { input: instance({ id, name, ...overrides }) });
    ids.push(id);
  }
  return { name, ids };
}

/** Many selections in few requests: one GraphQL document with up to a hundred aliased fields. */
export async function picks(
  url: string,
  name: string,
  count: number,
  strategy: LoadBalancingStrategy,
  keyOf?: (i: number) => string,
): Promise<(string | null)[]> {
  const results: (string | null)[] = [];
  for (let start = 0; start < count; start += 100) {
    const size = Math.min(100, count - start);
    const fields = Array.from({ length: size }, (_, i) => {
      const key = keyOf ? `, hashKey: ${JSON.stringify(keyOf(start + i))}` : '';
      return `p${i}: selectInstance(service: ${JSON.stringify(name)}, strategy: ${strategy}${key}) { id }`;
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ ${fields.join('\n')} }` }),
    });
    const body = (await response.json()) as { data: Record<string, { id: string } | null>; errors?: unknown };
    expect(body.errors).toBeUndefined();
    for (let i = 0; i < size; i++) results.push(body.data[`p${i}`]?.id ?? null);
  }
  return results;
}

/** Each id's share of the picks. */
export function shares(ids: readonly string[], picked: readonly (string | null)[]): number[] {
  return ids.map((id) => picked.filter((entry) => entry === id).length / picked.length);
}
