import { config, dependency, service, start, type ServiceClient } from '@switchboard/sdk';
import { BadRequest, serveJson } from './http.js';
import { connectRegistry, host, portFromEnvironment } from './registry.js';

/**
 * The payments service: records each payment in the ledger it depends on. `npx tsx examples/payments/payments.ts`
 * (PORT, default 8443). It registers at once, and reports ready (its /healthz passes) only once a ledger 2.x
 * instance passes; SIGTERM or SIGINT deregisters it first, then lets ledger calls in flight finish.
 */
interface Payment {
  amount: number;
  currency: string;
}

const port = portFromEnvironment(8443);

@service({ name: 'payments', version: '2.4.1', port, dependsOn: ['ledger@^2'], healthCheck: { http: '/healthz', interval: '1s' } })
class PaymentService {
  @dependency('ledger') ledger!: ServiceClient;
  @config('payments.rate_limit') rateLimit = 100;
  private window = { second: 0, count: 0 };

  async process(payment: Payment) {
    return this.ledger.post('/entries', payment);
  }

  /** At most `rateLimit` payments a second; the limit follows the configuration as it changes. */
  allow(): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.window.second) this.window = { second, count: 0 };
    return ++this.window.count <= this.rateLimit;
  }
}

// Serve before registering: the registry probes /healthz from the start, and it fails until start() resolves
// (every dependency is there), so callers that discover passing instances only find a ready one.
let payments: PaymentService | undefined;
await serveJson(host, port, {
  'GET /healthz': () => (payments ? [200, { status: 'ready' }] : [503, { status: 'waiting for ledger@^2' }]),
  'POST /payments': async (body) => {
    if (!payments) return [503, { error: { code: 'UNAVAILABLE', message: 'Not ready: waiting for ledger@^2.' } }];
    const payment = parsePayment(body);
    if (!payments.allow()) return [429, { error: { code: 'RATE_LIMITED', message: `Over ${payments.rateLimit} payments a second.` } }];
    try {
      return [201, { payment, entry: await payments.process(payment) }];
    } catch (error) {
      return [502, { error: { code: 'LEDGER_UNAVAILABLE', message: error instanceof Error ? error.message : String(error) } }];
    }
  },
  // Which ledger instance a call would go to now, and those this process has taken out (open breaker, ejected).
  'GET /ledger': () =>
    payments ? [200, { next: payments.ledger.url(), unavailable: [...payments.ledger.breakers.unavailable()] }] : [503, { error: { code: 'UNAVAILABLE' } }],
});

const running = await start(PaymentService, { registry: connectRegistry(), address: host });
payments = running.instance;
console.log(JSON.stringify({ ready: running.id, url: `http://${host}:${port}` }));

function parsePayment(body: unknown): Payment {
  const { amount, currency } = (body ?? {}) as Partial<Payment>;
  if (typeof amount !== 'number' || !(amount > 0)) throw new BadRequest('amount must be a positive number.');
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new BadRequest('currency must be three capital letters, e.g. "EUR".');
  return { amount, currency };
}
