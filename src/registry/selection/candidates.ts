import type { BreakerConfig, CircuitState } from '../breakers/machine.js';
import type { Catalog, CatalogBreaker } from '../catalog/catalog.js';
import { versionSatisfies } from '../services/discover.js';
import type { ServiceInstance } from '../instances/model.js';

/** Why an instance was not chosen from. */
export type ExclusionReason =
  'CRITICAL' | 'WARNING' | 'MAINTENANCE' | 'CIRCUIT_OPEN' | 'CIRCUIT_HALF_OPEN_BUSY' | 'TAG_MISMATCH' | 'VERSION_MISMATCH' | 'LOWER_PRIORITY_TIER' | 'DRAINED';

export interface Candidate {
  instance: ServiceInstance;
  circuit: CircuitState;
  /** Why it cannot be chosen at all (health, maintenance, breaker, filters). */
  exclusions: ExclusionReason[];
}

export interface CandidateFilter {
  tags?: readonly string[] | null | undefined;
  /** A validated semver range. */
  range?: string | undefined;
  /** Instances whose checks warn are acceptable. */
  allowWarning?: boolean | null | undefined;
}

/** An open breaker reads as half-open once its cooldown has passed (every server computes the same). */
export function circuitState(breaker: CatalogBreaker | undefined, now: number, config: BreakerConfig): CircuitState {
  if (!breaker) return 'CLOSED';
  if (breaker.state === 'OPEN' && breaker.openedAt !== null && now - breaker.openedAt >= config.cooldownMs) return 'HALF_OPEN';
  return breaker.state;
}

/**
 * Every instance of the service, from the in-memory catalog, with everything that
 * rules it out. (A lapsed TTL lease is not judged here: the expiry sweep removes
 * the instance, within SWITCHBOARD_EXPIRY_SWEEP.)
 */
export function candidatesOf(catalog: Catalog, name: string, filter: CandidateFilter, now: number, config: BreakerConfig): Candidate[] {
  return catalog.byService(name).map(({ instance, breaker }) => {
    const exclusions: ExclusionReason[] = [];
    if (filter.tags?.some((tag) => !instance.tags.includes(tag))) exclusions.push('TAG_MISMATCH');
    if (filter.range && !versionSatisfies(instance.version, filter.range)) exclusions.push('VERSION_MISMATCH');
    if (instance.maintenanceSince) exclusions.push('MAINTENANCE');
    if (instance.checkStatus === 'CRITICAL') exclusions.push('CRITICAL');
    if (instance.checkStatus === 'WARNING' && !filter.allowWarning) exclusions.push('WARNING');
    const circuit = circuitState(breaker, now, config);
    if (circuit === 'OPEN') exclusions.push('CIRCUIT_OPEN');
    return { instance, circuit, exclusions };
  });
}
