import { main, runLoops } from './loops.js';

/** registerService mutations with fresh ids, through GraphQL over HTTP (keep-alive). */
await main(async ({ url, concurrency, seconds, prefix }: { url: string; concurrency: number; seconds: number; prefix: string }) => {
  const query = 'mutation ($input: ServiceDefinitionInput!) { registerService(input: $input) { id } }';
  return runLoops(concurrency, seconds, async (loop, iteration) => {
    const input = {
      id: `${prefix}-${loop}-${iteration}`,
      name: `${prefix}-svc-${loop % 10}`,
      version: '1.0.0',
      address: '10.1.0.1',
      port: 8080,
      tags: ['bench'],
      ttl: '1h',
    };
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables: { input } }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  });
});
