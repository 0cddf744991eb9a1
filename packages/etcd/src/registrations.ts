import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { EtcdLeaseInvalidError, type Lease } from 'etcd3';
import type { EtcdCalls } from './calls.js';
import { CheckRunner, CheckState, type CheckPlan, type ProbeResult } from './health-checks.js';
import { encodeInstance, type InstanceRecord } from './instance-record.js';
import { KeyedQueue } from './keyed-queue.js';

/** An instance this process registered: its key, the value it keeps there, the lease keeping it. */
interface Registration {
  key: string;
  record: InstanceRecord;
  ttlSeconds: number;
  lease: Lease;
  check: { plan: CheckPlan; state: CheckState; runner: CheckRunner; written: string } | undefined;
  /** Unregistered, replaced or closed: nothing writes it again. */
  readonly ended: AbortController;
}

/** A lost lease is granted again and the key put again this way, until it works or the instance is unregistered. */
const REPUT_BACKOFF = { initialDelay: 200, maxDelay: 5_000 };

/**
 * The instances this process registered. Each key lives under a lease of its own, kept alive by etcd3; when
 * etcd says the lease is gone (revoked behind our back, or expired while etcd was unreachable), the key is put
 * again under a fresh lease. Operations on one instance run one at a time, in order.
 */
export class Registrations {
  private readonly byId = new Map<string, Registration>();
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly calls: EtcdCalls,
    private readonly onWarning: (message: string) => void,
    /** A check kept an instance critical for its deregisterCriticalServiceAfter. */
    private readonly onCriticalTooLong: (id: string) => void,
  ) {}

  owned(id: string): { key: string; record: InstanceRecord; leaseId: Promise<string> } | undefined {
    const registration = this.byId.get(id);
    return registration && { key: registration.key, record: registration.record, leaseId: registration.lease.grant() };
  }

  /** Writes the instance under a new lease, then lets the previous registration of this id go. */
  register(key: string, record: InstanceRecord, ttlSeconds: number, plan: CheckPlan | undefined): Promise<InstanceRecord> {
    return this.queue.run(record.id, async () => {
      const previous = this.byId.get(record.id);
      const check = plan && this.checkFor(record.id, plan, previous);
      const health = check ? healthOf(check.plan, check.state) : record.health;
      const written: InstanceRecord = { ...record, registeredAt: previous?.record.registeredAt ?? record.registeredAt, health };
      const lease = await this.grant(ttlSeconds);
      try {
        await this.calls.run(() => this.calls.client.put(key).value(encodeInstance(written)).lease(lease.grant()).exec());
      } catch (error) {
        void lease.revoke().catch(() => {});
        if (check !== previous?.check) check?.runner.stop();
        throw error;
      }
      const registration: Registration = { key, record: written, ttlSeconds, lease, check, ended: new AbortController() };
      this.byId.set(record.id, registration);
      this.keep(registration);
      if (previous) await this.retire(previous, registration);
      if (check && check !== previous?.check) {
        check.written = health.status;
        check.runner.start();
      }
      return written;
    });
  }

  /** Deletes the key and revokes its lease; false when this process did not register the instance. */
  async unregister(id: string): Promise<boolean> {
    const registration = this.byId.get(id);
    if (!registration) return false;
    // Ended now, not in turn: a re-put waiting for etcd must not outlive the deregistration.
    this.end(registration);
    await this.queue.run(id, async () => {
      if (this.byId.get(id) === registration) this.byId.delete(id);
      try {
        await this.calls.run(() => this.calls.client.delete().key(registration.key).exec());
        await this.calls.run(() => registration.lease.revoke());
      } finally {
        // Not kept alive any longer, whatever etcd answered: at worst the key expires with its lease.
        registration.lease.release();
      }
    });
    return true;
  }

  /** A keep-alive now; false when this process did not register the instance. */
  async renew(id: string): Promise<boolean> {
    const registration = this.byId.get(id);
    if (!registration) return false;
    try {
      await this.calls.run(() => registration.lease.keepaliveOnce());
    } catch (error) {
      // The lease is gone: etcd3 reported it lost, so the instance is being put again; wait for that.
      if (!(error instanceof Error && error.cause instanceof EtcdLeaseInvalidError)) throw error;
      await this.queue.run(id, async () => {});
    }
    return true;
  }

  /** Replaces the instance's check with `plan` and starts it; undefined when this process did not register it. */
  async setCheck(id: string, plan: CheckPlan): Promise<InstanceRecord | undefined> {
    const registration = this.byId.get(id);
    if (!registration) return undefined;
    await this.register(registration.key, registration.record, registration.ttlSeconds, plan);
    return this.byId.get(id)?.record;
  }

  /** Stops keeping the leases alive: the keys expire after their TTL, as when the process stops. */
  close(): void {
    for (const registration of this.byId.values()) {
      this.end(registration);
      registration.lease.release();
    }
    this.byId.clear();
  }

  /** The check to run: the previous one when it is the same (it keeps its status and counts), else a new one. */
  private checkFor(id: string, plan: CheckPlan, previous: Registration | undefined): NonNullable<Registration['check']> {
    if (previous?.check && JSON.stringify(previous.check.plan) === JSON.stringify(plan)) return previous.check;
    const state = new CheckState(plan);
    const runner = new CheckRunner(plan, (result) => this.checked(id, result));
    return { plan, state, runner, written: '' };
  }

  /** A probe's result: written when the status changed (etcd holds transitions, not every probe). */
  private async checked(id: string, result: ProbeResult): Promise<void> {
    const registration = this.byId.get(id);
    const check = registration?.check;
    if (!registration || !check) return;
    check.state.record(result);
    const { criticalSince } = check.state;
    if (check.plan.deregisterCriticalAfterMs !== null && criticalSince !== null && Date.now() - criticalSince >= check.plan.deregisterCriticalAfterMs) {
      this.onCriticalTooLong(id);
      return;
    }
    if (check.state.status === check.written) return;
    await this.queue.run(id, async () => {
      if (this.byId.get(id) !== registration || registration.ended.signal.aborted) return;
      const health = healthOf(check.plan, check.state);
      const record = { ...registration.record, health };
      try {
        await this.calls.run(() => this.calls.client.put(registration.key).value(encodeInstance(record)).lease(registration.lease.grant()).exec());
        registration.record = record;
        check.written = health.status;
      } catch (error) {
        // Written at the next probe.
        this.onWarning(`${this.calls.backend}: the health of "${id}" (${health.status}) could not be written: ${String(error)}`);
      }
    });
  }

  /** Keeps the registration when etcd loses its lease: a new lease, the same value, until it works or ends. */
  private keep(registration: Registration): void {
    const lease = registration.lease;
    // etcd3 may report one lease lost more than once (a keep-alive sent after the loss is refused again).
    lease.once('lost', (error: Error) => {
      if (registration.ended.signal.aborted || registration.lease !== lease) return;
      const id = registration.record.id;
      this.onWarning(`${this.calls.backend}: the lease of instance "${id}" was lost (${error.message}); putting it again under a new lease.`);
      void this.queue.run(id, () => this.putAgain(registration)).catch(() => {});
    });
  }

  private async putAgain(registration: Registration): Promise<void> {
    const { signal } = registration.ended;
    await retry(handleAll, { maxAttempts: Infinity, backoff: new ExponentialBackoff(REPUT_BACKOFF) }).execute(async () => {
      if (signal.aborted) return;
      const lease = await this.grant(registration.ttlSeconds);
      try {
        await this.calls.run(() => this.calls.client.put(registration.key).value(encodeInstance(registration.record)).lease(lease.grant()).exec());
      } catch (error) {
        void lease.revoke().catch(() => {});
        throw error;
      }
      if (signal.aborted) return void (await lease.revoke().catch(() => {}));
      registration.lease = lease;
      this.keep(registration);
    }, signal);
  }

  /** The previous registration of an id gives way: its lease revoked (deleting its key, if the key moved). */
  private async retire(previous: Registration, next: Registration): Promise<void> {
    this.end(previous, next.check);
    await this.calls
      .run(() => previous.lease.revoke())
      .catch((error: unknown) => {
        this.onWarning(`${this.calls.backend}: the previous lease of "${previous.record.id}" could not be revoked (it expires by itself): ${String(error)}`);
      });
  }

  private end(registration: Registration, keepCheck?: Registration['check']): void {
    registration.ended.abort();
    if (registration.check && registration.check !== keepCheck) registration.check.runner.stop();
  }

  /** A lease of `ttlSeconds`, granted; a grant answered after the dial timeout is released, not kept alive. */
  private grant(ttlSeconds: number): Promise<Lease> {
    return this.calls.run(async (signal) => {
      const lease = this.calls.client.lease(ttlSeconds);
      // A grant that fails is reported by `grant()`; etcd3 also emits 'lost', which nobody needs here.
      lease.on('lost', () => {});
      await lease.grant();
      if (signal.aborted) lease.release();
      return lease;
    });
  }
}

function healthOf(plan: CheckPlan, state: CheckState): InstanceRecord['health'] {
  return {
    status: state.status,
    output: state.output,
    lastCheck: state.lastCheck,
    checkCount: state.checkCount,
    failureCount: state.failureCount,
    check: { id: plan.id, name: plan.name },
  };
}
