import { Counter, Histogram, Registry } from 'prom-client';
import { BATCH_SIZE_BUCKETS, DURATION_BUCKETS } from './registry.js';

type Kind = 'kind';

const CHECK_KINDS = ['http', 'tcp', 'grpc', 'script', 'ttl'];

/** What a health-check pool records: probes run and failed, how late they started, how many it claims at once, transitions written. */
export class HealthMetrics {
  private readonly run: Counter<Kind>;
  private readonly failed: Counter<Kind>;
  private readonly lag: Histogram;
  private readonly claims: Histogram;
  private readonly transitions: Counter;

  /** Without a registry (a worker started outside a node, say a benchmark) the numbers go to one of its own. */
  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.run = new Counter({
      name: 'switchboard_health_checks_run_total',
      help: 'Health check probes run by this process, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.failed = new Counter({
      name: 'switchboard_health_checks_failed_total',
      help: 'Health check probes run by this process whose result was not passing (warning or critical), by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.lag = new Histogram({
      name: 'switchboard_health_check_lag_seconds',
      help: 'How late a probe started after its check was due.',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.claims = new Histogram({
      name: 'switchboard_health_claim_batch_size',
      help: 'Due checks taken by one claim of this process; empty claims are not counted.',
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    // Every kind from the start: a series that appears only on its first failure hides that failure from rate().
    for (const kind of CHECK_KINDS) {
      this.run.inc({ kind }, 0);
      this.failed.inc({ kind }, 0);
    }
    this.transitions = new Counter({
      name: 'switchboard_health_transitions_total',
      help: 'Check status changes this process wrote (each with its history row and event).',
      registers,
    });
  }

  probeRun(kind: string, passing: boolean): void {
    const labels = { kind: kind.toLowerCase() };
    this.run.inc(labels);
    if (!passing) this.failed.inc(labels);
  }

  probeLag(ms: number): void {
    this.lag.observe(Math.max(0, ms) / 1000);
  }

  claimed(count: number): void {
    if (count > 0) this.claims.observe(count);
  }

  transitionsWritten(count: number): void {
    this.transitions.inc(count);
  }
}
