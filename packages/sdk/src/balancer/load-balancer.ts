import type { LoadBalancingStrategy } from '@switchboard/client';
import { rendezvousIndex, weightedIndex } from '@switchboard/contracts';
import { LRUCache } from 'lru-cache';

/** The server's strategies, and LEAST_OUTSTANDING: the instance with the fewest calls in flight from this process. */
export type BalancingStrategy = LoadBalancingStrategy | 'LEAST_OUTSTANDING';

/** What the balancer reads of an instance (a DiscoveredInstance has it all). */
export interface BalancedInstance {
  id: string;
  name: string;
  weight: number;
  priority: number;
  health: { status: 'PASSING' | 'WARNING' | 'CRITICAL' | 'UNKNOWN' };
}

export interface LoadBalancerOptions {
  /** Default ROUND_ROBIN, as the server's. */
  strategy?: BalancingStrategy;
  /** Also choose instances whose checks warn (as `selectInstance(allowWarning: true)`). */
  allowWarning?: boolean;
  /** Rules an instance out besides its health, e.g. a client-side circuit breaker that is open. */
  isAvailable?: (instance: BalancedInstance) => boolean;
  /** The uniform draw for RANDOM, WEIGHTED and PRIORITY (default Math.random). */
  random?: () => number;
}

export interface SelectOptions {
  /** Required for CONSISTENT_HASH: the value (a user id, a session) to map to an instance. */
  hashKey?: string;
  /** Overrides the balancer's strategy for this selection. */
  strategy?: BalancingStrategy;
}

/** Rotations remembered at most (one per service name); the one used longest ago is forgotten first. */
const MAX_ROTATIONS = 10_000;

/**
 * Chooses one instance per call from instances already in hand (the discovery cache): no request per call.
 * The same semantics as the server's `selectInstance`: an instance is available when it is not CRITICAL
 * (nor in maintenance, which reads as CRITICAL), not WARNING unless allowed, and `isAvailable` accepts it;
 * every strategy works within one priority tier, the lowest `priority` value with an available instance,
 * so a tier that is down fails over to the next; within it weight 0 means drained (chosen only when the
 * whole tier is drained, then evenly). Consistent hashing uses the server's rendezvous hash, so the same
 * key picks the same instance here and there.
 */
export class LoadBalancer<I extends BalancedInstance = BalancedInstance> {
  private readonly rotations = new LRUCache<string, number>({ max: MAX_ROTATIONS });
  private readonly weights = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly options: LoadBalancerOptions = {}) {}

  /** The seed's `Select`: one available instance, or null when none is. */
  select(instances: readonly I[], options: SelectOptions = {}): I | null {
    const strategy = options.strategy ?? this.options.strategy ?? 'ROUND_ROBIN';
    if (strategy === 'CONSISTENT_HASH' && !options.hashKey) {
      throw new Error('CONSISTENT_HASH needs a hashKey (the value to map to an instance, such as a user id).');
    }
    // The server's catalog orders a service's instances by id; rotations and ties follow the same order
    // (the discovery cache already returns them so).
    const ordered = inIdOrder(instances) ? instances : [...instances].sort((a, b) => compareIds(a.id, b.id));
    const available = ordered.filter((instance) => this.available(instance));
    if (available.length === 0) return null;

    const tier = Math.min(...available.map((instance) => instance.priority));
    const inTier = available.filter((instance) => instance.priority === tier);
    const weighted = inTier.filter((instance) => this.weightOf(instance) > 0);
    const pool = weighted.length > 0 ? weighted : inTier;
    const weights = weighted.length > 0 ? pool.map((instance) => this.weightOf(instance)) : pool.map(() => 1);
    return pool[this.pick(strategy, pool, weights, options.hashKey)]!;
  }

  /**
   * The seed's `UpdateWeights`: this process uses `weight` for the instance instead of its registered
   * weight (0 drains it), until `resetWeight`. To change it for every client, update it in the registry.
   */
  updateWeights(serviceId: string, weight: number): void {
    if (!Number.isInteger(weight) || weight < 0) throw new RangeError(`weight must be a non-negative integer, got ${weight}.`);
    this.weights.set(serviceId, weight);
  }

  /** Goes back to the instance's registered weight. */
  resetWeight(serviceId: string): void {
    this.weights.delete(serviceId);
  }

  /**
   * Counts a call to the instance as outstanding until the returned release is called (once; more
   * calls do nothing). LEAST_OUTSTANDING chooses by these counts.
   */
  acquire(instance: BalancedInstance): () => void {
    this.inFlight.set(instance.id, this.outstanding(instance.id) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.outstanding(instance.id) - 1;
      if (left > 0) this.inFlight.set(instance.id, left);
      else this.inFlight.delete(instance.id);
    };
  }

  /** Calls to the instance acquired and not yet released. */
  outstanding(serviceId: string): number {
    return this.inFlight.get(serviceId) ?? 0;
  }

  private available(instance: I): boolean {
    const { status } = instance.health;
    if (status === 'CRITICAL' || (status === 'WARNING' && !this.options.allowWarning)) return false;
    return this.options.isAvailable?.(instance) ?? true;
  }

  private weightOf(instance: BalancedInstance): number {
    return this.weights.get(instance.id) ?? instance.weight;
  }

  private pick(strategy: BalancingStrategy, pool: readonly I[], weights: readonly number[], hashKey: string | undefined): number {
    const random = this.options.random ?? Math.random;
    switch (strategy) {
      case 'ROUND_ROBIN':
        return this.rotate(pool[0]!.name, pool.length);
      case 'RANDOM':
        return Math.floor(random() * pool.length);
      case 'WEIGHTED':
      case 'PRIORITY':
        return weightedIndex(weights, random());
      case 'CONSISTENT_HASH':
        return rendezvousIndex(
          pool.map((instance) => instance.id),
          weights,
          hashKey!,
        );
      case 'LEAST_OUTSTANDING':
        return this.leastOutstanding(pool, weights);
    }
  }

  /**
   * Fewest calls in flight per unit of weight; ties (an idle service, most often) rotate, so an idle
   * service is not always sent to its first instance.
   */
  private leastOutstanding(pool: readonly I[], weights: readonly number[]): number {
    const loads = pool.map((instance, i) => (this.outstanding(instance.id) + 1) / weights[i]!);
    const least = Math.min(...loads);
    const tied = loads.flatMap((load, i) => (load === least ? [i] : []));
    return tied[this.rotate(`${pool[0]!.name}\u0000least`, tied.length)]!;
  }

  /** The next position of the service's rotation, which starts at a random point (as each server's does). */
  private rotate(key: string, size: number): number {
    let position = this.rotations.get(key);
    if (position === undefined) {
      position = Math.floor(Math.random() * 1_000_000);
    }
    this.rotations.set(key, position + 1);
    return position % size;
  }
}

function inIdOrder(instances: readonly BalancedInstance[]): boolean {
  for (let i = 1; i < instances.length; i++) if (compareIds(instances[i - 1]!.id, instances[i]!.id) > 0) return false;
  return true;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
