import { LoadBalancer, type BalancingStrategy } from '../balancer/load-balancer.js';
import type { DiscoveredInstance } from '../discovery/types.js';
import type { ServiceDiscovery } from '../discovery/service-discovery.js';
import type { CircuitBreakerRegistry } from './breakers.js';
import type { InstancePicker, PickedInstance, PickOptions } from './picker.js';

export interface DiscoveryPickerOptions {
  /** A semver range the instances must match (npm syntax); default any version. */
  version?: string;
  /** Tags every instance must carry. */
  tags?: readonly string[];
  /** Default ROUND_ROBIN; ignored when `balancer` is given. */
  strategy?: BalancingStrategy;
  /** The balancer to select with (its strategy, weights and in-flight counts); default one of its own. */
  balancer?: LoadBalancer<DiscoveredInstance>;
  /** Leaves out instances behind an open breaker or ejected as outliers (pass the ServiceClient's). */
  breakers?: CircuitBreakerRegistry;
}

/**
 * An InstancePicker over the discovery cache: the passing instances of one service (in range), less those the
 * breakers rule out and the caller excludes, selected by a LoadBalancer. A memory read per call once the
 * service is cached. A picked instance carries `release`, which the ServiceClient calls when its attempt ends,
 * so the balancer counts calls in flight (LEAST_OUTSTANDING chooses by them).
 */
export class DiscoveryPicker implements InstancePicker {
  readonly balancer: LoadBalancer<DiscoveredInstance>;
  /** The service's instances in the cache at its last change: whose breakers to drop once they leave it. */
  private known = new Set<string>();
  private readonly stopListening: (() => void) | undefined;

  constructor(
    private readonly discovery: ServiceDiscovery,
    readonly service: string,
    private readonly options: DiscoveryPickerOptions = {},
  ) {
    this.balancer = options.balancer ?? new LoadBalancer({ strategy: options.strategy ?? 'ROUND_ROBIN' });
    const { breakers } = options;
    if (breakers) {
      this.known = this.cachedIds();
      this.stopListening = discovery.onChange((name) => name === service && this.forgetLeft(breakers));
    }
  }

  /** Stops following the cache (the breakers of instances that leave it are then kept). */
  close(): void {
    this.stopListening?.();
  }

  async pick(options: PickOptions = {}): Promise<PickedInstance> {
    const chosen = this.choose(await this.discovery.instances(this.service, this.filter()), options);
    return { ...picked(chosen), release: this.balancer.acquire(chosen) };
  }

  /**
   * `pick` from what the cache holds now, without waiting; for callers that need a URL synchronously once the
   * service is known (a started service's dependencies are). Not counted as a call in flight. Throws when
   * nothing is cached or none is left.
   */
  pickNow(options: PickOptions = {}): PickedInstance {
    const cached = this.discovery.cached(this.service, this.filter());
    if (!cached) throw new Error(`No instance of ${this.service} is known yet: discover it first.`);
    return picked(this.choose(cached.instances, options));
  }

  private choose(instances: DiscoveredInstance[], { hashKey, exclude }: PickOptions): DiscoveredInstance {
    const callable = (this.options.breakers?.healthy(instances) ?? instances).filter((instance) => !exclude?.has(instance.id));
    const chosen = this.balancer.select(callable, hashKey === undefined ? {} : { hashKey });
    if (!chosen) {
      const left = instances.length === 0 ? 'none is passing' : `none of ${instances.length} is available now (breakers open, ejected or already tried)`;
      throw new Error(`No instance of ${this.service} to call: ${left}.`);
    }
    return chosen;
  }

  /**
   * Instances that left the service (deregistered, expired): their breakers and outlier records go, so churn
   * does not grow them. Only this service's: the breakers may be shared with other services' pickers.
   */
  private forgetLeft(breakers: CircuitBreakerRegistry): void {
    const current = this.cachedIds();
    breakers.forget([...this.known].filter((id) => !current.has(id)));
    this.known = current;
  }

  /** Every instance of the service the cache holds, passing or not (a critical one may come back). */
  private cachedIds(): Set<string> {
    return new Set(this.discovery.cached(this.service, { passingOnly: false })?.instances.map((instance) => instance.id));
  }

  private filter() {
    const { version, tags } = this.options;
    return { ...(version === undefined || version === '*' ? {} : { version }), ...(tags ? { tags } : {}) };
  }
}

function picked({ id, address, port }: DiscoveredInstance): PickedInstance {
  return { id, address, port };
}

/** A picker of `service`'s instances through `discovery`; see DiscoveryPicker. */
export function discoveryPicker(discovery: ServiceDiscovery, service: string, options?: DiscoveryPickerOptions): DiscoveryPicker {
  return new DiscoveryPicker(discovery, service, options);
}
