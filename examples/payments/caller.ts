import { discoveryPicker, ServiceClient, ServiceDiscovery, ServiceResponseError } from '@switchboard/sdk';
import { registryOptions } from './registry.js';

/**
 * A caller: finds the passing payments instances through Switchboard and sends `count` payments (first argument,
 * default 5), printing each answer as a JSON line. `npx tsx examples/payments/caller.ts 10`. Exits 1 if any failed.
 */
const count = Number(process.argv[2] ?? 5);
const discovery = new ServiceDiscovery({ registry: registryOptions });
const payments = new ServiceClient({ service: 'payments', picker: discoveryPicker(discovery, 'payments', { version: '^2' }) });

try {
  for (let i = 1; i <= count; i++) {
    try {
      console.log(JSON.stringify(await payments.post('/payments', { amount: 10 * i, currency: 'EUR' })));
    } catch (error) {
      const answer = error instanceof ServiceResponseError ? error.body : error instanceof Error ? error.message : String(error);
      console.log(JSON.stringify({ failed: answer }));
      process.exitCode = 1;
    }
  }
} finally {
  await discovery.close();
}
