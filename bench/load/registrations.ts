import { main, runLoops } from './loops.js';

const REGISTER = 'mutation ($input: ServiceDefinitionInput!) { registerService(input: $input) { id } }';
const REGISTER_MANY = 'mutation ($inputs: [ServiceDefinitionInput!]!) { registerServices(inputs: $inputs) { id } }';

/**
 * registerService mutations with fresh ids, through GraphQL over HTTP (keep-alive); with `batch`,
 * registerServices mutations of `batch` fresh ids each (an operation is then a whole batch).
 */
await main(async ({ url, concurrency, seconds, prefix, batch }: { url: string; concurrency: number; seconds: number; prefix: string; batch?: number }) => {
  const definition = (id: string, loop: number) => ({
    id,
    name: `${prefix}-svc-${loop % 10}`,
    version: '1.0.0',
    address: '10.1.0.1',
    port: 8080,
    tags: ['bench'],
    ttl: '1h',
  });
  const request = (loop: number, iteration: number) =>
    batch === undefined
      ? { query: REGISTER, variables: { input: definition(`${prefix}-${loop}-${iteration}`, loop) } }
      : { query: REGISTER_MANY, variables: { inputs: Array.from({ length: batch }, (_, n) => definition(`${prefix}-${loop}-${iteration}-${n}`, loop)) } };
  return runLoops(concurrency, seconds, async (loop, iteration) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request(loop, iteration)),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  });
});
