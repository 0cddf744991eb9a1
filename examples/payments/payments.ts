// The generated registry (`switchboard generate`): imported first, start() declares PaymentService and registers
// its components from these constants instead of reading decorator metadata.
import './switchboard.generated.js';
import { config, dependency, service, start, type ServiceClient } from '@switchboard/sdk';
import { FraudCheck } from './components.js';
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

// A constant, so `switchboard scan` can read the declared port; PORT overrides it when the process starts.
const DEFAULT_PORT = 8443;
const port = portFromEnvironment(DEFAULT_PORT);

@service({ name: 'payments', version: '2.4.1', port: DEFAULT_PORT, dependsOn: ['ledger@^2'], healthCheck: { http: '/healthz', interval: '1s' } })
class PaymentService {
  @dependency('ledger') ledger!: ServiceClient;
  @config('payments.rate_limit') rateLimit = 100;
  private window = { second: 0, count: 0 };
  private fraudCheck = new FraudCheck();

  /** The checkout flow's fraud-check step. */
  allows(payment: Payment): boolean {
    return this.fraudCheck.allows(payment);
  }

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
    if (!payments.allows(payment)) return [422, { error: { code: 'REFUSED', message: 'The fraud check refused this payment.' } }];
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

const running = await start(PaymentService, { registry: connectRegistry(), address: host, port });
payments = running.instance;
console.log(JSON.stringify({ ready: running.id, url: `http://${host}:${port}`, declaredBy: running.declaredBy, components: running.components }));

function parsePayment(body: unknown): Payment {
  const { amount, currency } = (body ?? {}) as Partial<Payment>;
  if (typeof amount !== 'number' || !(amount > 0)) throw new BadRequest('amount must be a positive number.');
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new BadRequest('currency must be three capital letters, e.g. "EUR".');
  return { amount, currency };
}
