import './switchboard.generated.js';
import { service, start, type RunningService } from '@switchboard/sdk';
import { BadRequest, serveJson } from './http.js';
import { connectRegistry, host, portFromEnvironment } from './registry.js';

/**
 * A ledger instance: keeps the entries posted to it in memory and says which instance it is in each answer.
 * Run several on different ports (`PORT=9101 npx tsx examples/payments/ledger.ts`, then 9102 …): each registers
 * itself as its own instance of ledger 2.1.0, with a lease the SDK renews (a killed instance lapses within 30s).
 */
interface Entry {
  id: string;
  instance: string;
  amount: number;
  currency: string;
}

const DEFAULT_PORT = 9101;
const port = portFromEnvironment(DEFAULT_PORT);

@service({ name: 'ledger', version: '2.1.0', port: DEFAULT_PORT, healthCheck: { ttl: '30s' } })
class Ledger {
  readonly entries: Entry[] = [];

  record(instance: string, amount: number, currency: string): Entry {
    const entry = { id: `${instance}/${this.entries.length + 1}`, instance, amount, currency };
    this.entries.push(entry);
    return entry;
  }
}

// Serve before registering: a caller may pick this instance as soon as it is registered.
let running: RunningService<Ledger> | undefined;
await serveJson(host, port, {
  'POST /entries': (body) => {
    if (!running) return [503, { error: { code: 'UNAVAILABLE', message: 'Starting.' } }];
    const { amount, currency } = (body ?? {}) as { amount?: unknown; currency?: unknown };
    if (typeof amount !== 'number' || typeof currency !== 'string') throw new BadRequest('An entry needs a numeric amount and a currency.');
    return [201, running.instance.record(running.id, amount, currency)];
  },
  'GET /entries': () => [200, running?.instance.entries ?? []],
});

running = await start(Ledger, { registry: connectRegistry(), address: host, port });
console.log(JSON.stringify({ ready: running.id, url: `http://${host}:${port}`, declaredBy: running.declaredBy }));
