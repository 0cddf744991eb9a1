import { parseDuration, SwitchboardError } from '@switchboard/contracts';
import { ExponentialBackoff, fullJitterGenerator, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import type { Registry, RegistryEvent, ServiceDefinition, ServiceInstance, Stop } from '../registry/registry.js';

export interface RegistrationKeeperOptions {
  registry: Registry;
  /** Registered as given, again and again: an upsert by its `id`, so never a second instance. */
  definition: ServiceDefinition & { id: string };
  /** Bound to the registry client's connection (see RegisterOptions.ephemeral); no lease to renew. */
  ephemeral?: boolean;
  /** A registration the registry refuses for good (bad input, forbidden); default: logged. */
  onError?: (error: unknown) => void;
}

/** Waits between attempts while the registry cannot be reached: full jitter, up to 30s. */
const UNREACHABLE_BACKOFF = { initialDelay: 500, maxDelay: 30_000 };

/**
 * Keeps one instance registered until halted. The registry may lose it behind the service's back: another
 * client deregisters it, its lease lapses while the registry is down (it is swept when it comes back), its
 * database is reset. Each is noticed by push or by traffic the service makes anyway, never by polling:
 *
 * - a watch of `service.unregistered` events (resumed from its last event after a reconnect, so a removal
 *   during an outage is replayed) names the instance;
 * - the lease renewal (TTL instances) answers NOT_FOUND;
 * - the watch ends for good (the registry refused to resume it: its log was reset, or it was unreachable for
 *   too long): nothing is known of the time between, so the keeper watches afresh and registers again (an
 *   unchanged re-registration writes nothing).
 *
 * Then it registers the same definition with the same id, retrying while the registry is unreachable.
 *
 * Halting is what makes a deregistration final: from `halt()` on nothing starts a registration, and `halt()`
 * resolves only once a registration in flight has been answered. A deregistration sent after it is the last
 * word: a re-registration racing it could otherwise reach the registry after it and bring the instance back.
 * For an ephemeral instance the watch also holds the WebSocket (and with it the session) open.
 */
export class RegistrationKeeper {
  private halted = false;
  private readonly abort = new AbortController();
  /** A registration is wanted: set by every trigger, cleared when one is sent. */
  private pending = false;
  private registering: Promise<void> | undefined;
  private stopWatching: Stop | undefined;
  private renewal: NodeJS.Timeout | undefined;
  private readonly unreachable: RetryPolicy;
  private readonly onError: (error: unknown) => void;
  private readonly counts = { registrations: 0 };

  constructor(private readonly options: RegistrationKeeperOptions) {
    this.unreachable = retry(
      handleWhen((error) => !isAnswer(error)),
      { maxAttempts: Infinity, backoff: new ExponentialBackoff({ generator: fullJitterGenerator, ...UNREACHABLE_BACKOFF }) },
    );
    this.onError = options.onError ?? ((error) => console.error(`switchboard: keeping ${options.definition.id} registered failed:`, error));
  }

  get id(): string {
    return this.options.definition.id;
  }

  /** Registrations sent so far, the first included. */
  get registrations(): number {
    return this.counts.registrations;
  }

  /** Watches, registers (with the registry's own retry), then renews a lease if the definition has one. */
  async start(): Promise<ServiceInstance> {
    // Watching first: the removal of an instance registered a moment later is then seen, and an ephemeral
    // registration's WebSocket stays open after its answer.
    this.stopWatching = await this.watch();
    const instance = await this.register();
    const { ttl } = this.options.definition;
    if (ttl != null && !this.options.ephemeral) this.renewEvery((typeof ttl === 'number' ? ttl : parseDuration(ttl)!) / 3);
    return instance;
  }

  /** From now on nothing registers the instance again; resolves once a registration in flight is answered. */
  async halt(): Promise<void> {
    this.halted = true;
    clearInterval(this.renewal);
    this.abort.abort();
    await this.registering;
  }

  /** Halts, then ends the watch (for an ephemeral instance: after its deregistration, the WebSocket may close). */
  async close(): Promise<void> {
    await this.halt();
    await this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private register(): Promise<ServiceInstance> {
    this.counts.registrations += 1;
    return this.options.registry.registerService(this.options.definition, this.options.ephemeral ? { ephemeral: true } : {});
  }

  /** Asks for a registration; one runs at a time, and a trigger during it runs another after it. */
  private reregister(): void {
    if (this.halted) return;
    this.pending = true;
    this.registering ??= this.registerWhilePending().finally(() => (this.registering = undefined));
  }

  private async registerWhilePending(): Promise<void> {
    while (this.pending && !this.halted) {
      this.pending = false;
      try {
        await this.unreachable.execute(() => (this.halted ? undefined : this.register()), this.abort.signal);
      } catch (error) {
        if (!this.halted) this.onError(error);
        return;
      }
    }
  }

  private async watch(): Promise<Stop> {
    return this.options.registry.subscribe('service.unregistered', (event) => this.removed(event) && this.reregister(), {
      onEnd: () => void this.rewatch(),
    });
  }

  private removed(event: RegistryEvent): boolean {
    return event.data['service_id'] === this.id || event.data['id'] === this.id;
  }

  /** The watch ended by itself: watch afresh (once the registry answers), then register again. */
  private async rewatch(): Promise<void> {
    this.stopWatching = undefined;
    if (this.halted) return;
    try {
      const stop = await this.unreachable.execute(() => this.watch(), this.abort.signal);
      if (this.halted) return void (await stop());
      this.stopWatching = stop;
    } catch (error) {
      if (!this.halted) this.onError(error);
      return;
    }
    this.reregister();
  }

  private renewEvery(everyMs: number): void {
    // A renewal that fails otherwise is retried at the next tick: the lease outlasts two of them.
    this.renewal = setInterval(() => {
      this.options.registry.renewService(this.id).catch((error: unknown) => {
        if (error instanceof SwitchboardError && error.code === 'NOT_FOUND') this.reregister();
      });
    }, everyMs);
    this.renewal.unref();
  }
}

/** The registry answered (bad input, forbidden…): trying again would get the same answer. Unreachable or UNAVAILABLE is not an answer. */
function isAnswer(error: unknown): boolean {
  return error instanceof SwitchboardError && error.code !== 'UNAVAILABLE';
}
