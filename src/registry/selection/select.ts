import { badInput } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { grantProbe, type BreakerConfig, type CircuitState } from '../breakers/machine.js';
import { getBreakers, tryGrantProbe } from '../breakers/store.js';
import type { Catalog } from '../catalog/catalog.js';
import { parseRange } from '../services/discover.js';
import type { ServiceInstance } from '../instances/model.js';
import { candidatesOf, type Candidate, type ExclusionReason } from './candidates.js';
import type { SelectionState } from './state.js';
import { pick, shares, type Strategy } from './strategies.js';

export interface SelectionQuery {
  service: string;
  strategy?: Strategy | null | undefined;
  /** Required for CONSISTENT_HASH: the key (a user id, a session) to map to an instance. */
  hashKey?: string | null | undefined;
  tags?: readonly string[] | null | undefined;
  /** A semver range. */
  version?: string | null | undefined;
  /** Accept instances whose checks warn (default: passing only). */
  allowWarning?: boolean | null | undefined;
}

export interface SelectionOptions {
  breaker: BreakerConfig;
  /** This process's round-robin positions and busy half-open instances. */
  state: SelectionState;
  /**
   * Explain only: answer what a selection would pick now without changing what the
   * next one does (no probe is granted, the rotation does not move, nothing is remembered).
   */
  explainOnly?: boolean;
  random?: () => number;
}

export interface CandidateExplanation {
  instance: ServiceInstance;
  circuit: CircuitState;
  weight: number;
  priority: number;
  /** Could have been chosen (it was in the chosen tier and not drained). */
  eligible: boolean;
  /** Its chance of being the pick (for consistent hashing: its share of keys). */
  share: number | null;
  exclusions: ExclusionReason[];
}

export interface Selection {
  selected: ServiceInstance | null;
  strategy: Strategy;
  /** The priority tier chosen from (lowest value with an available instance). */
  tier: number | null;
  candidates: CandidateExplanation[];
  /** Why nothing was selected, when nothing was. */
  reason: string | null;
}

const MAX_TAGS = 64;

/**
 * Chooses one instance of a service.
 *
 * Available: matches the tags and version, passing (or warning, when allowed), not
 * in maintenance, circuit not open (half-open: only while it has a probe to give).
 * Read from the in-memory catalog; only granting a half-open probe touches the
 * database (the budget is shared by every server). Every strategy then works within one priority tier, the
 * lowest `priority` value that has an available instance, so a tier that is down
 * fails over to the next. Within the tier, weight 0 means drained: never chosen
 * unless the whole tier is drained, in which case its instances are chosen evenly.
 *
 * Never an error for "nothing available": the selection is null and says why.
 */
export async function selectInstance(db: Db, catalog: Catalog, query: SelectionQuery, options: SelectionOptions): Promise<Selection> {
  const strategy = query.strategy ?? 'ROUND_ROBIN';
  const hashKey = query.hashKey ?? undefined;
  if (strategy === 'CONSISTENT_HASH' && (hashKey === undefined || hashKey.length === 0)) {
    throw badInput('CONSISTENT_HASH needs a hashKey (the value to map to an instance, such as a user id).', { field: 'hashKey' });
  }
  if (hashKey !== undefined && hashKey.length > 1024) throw badInput('hashKey must be at most 1024 characters.', { field: 'hashKey' });
  if ((query.tags?.length ?? 0) > MAX_TAGS) throw badInput(`At most ${MAX_TAGS} tags may be filtered on.`, { field: 'tags' });
  const range = parseRange(query.version);

  const now = Date.now();
  const { halfOpenBusy, roundRobin } = options.state;
  const advance = !options.explainOnly;
  const candidates = candidatesOf(catalog, query.service, { tags: query.tags, range, allowWarning: query.allowWarning }, now, options.breaker);
  // Half-open instances recently found to have no probe left are out for now, without
  // asking the database again on every selection.
  const busy = new Set(candidates.filter((c) => c.circuit === 'HALF_OPEN' && halfOpenBusy.isBusy(c.instance.id)).map((c) => c.instance.id));
  const rotationKey = [query.service, [...(query.tags ?? [])].sort().join(','), range ?? '', query.allowWarning ? 'w' : ''].join('|');

  for (;;) {
    const available = candidates.filter((c) => c.exclusions.length === 0 && !busy.has(c.instance.id));
    if (available.length === 0) return explain(strategy, candidates, busy, null, null, undefined, nothingReason(query.service, candidates));

    const tier = Math.min(...available.map((c) => c.instance.priority));
    const inTier = available.filter((c) => c.instance.priority === tier);
    const weighted = inTier.filter((c) => c.instance.weight > 0);
    const pool = weighted.length > 0 ? weighted : inTier;
    const weights = weighted.length > 0 ? pool.map((c) => c.instance.weight) : pool.map(() => 1);
    const chosen = pool[pick(pool, weights, { strategy, hashKey, rotationKey, roundRobin, advance, random: options.random ?? Math.random })]!;

    if (chosen.circuit === 'HALF_OPEN') {
      const probe = advance
        ? await tryGrantProbe(db, chosen.instance.id, chosen.instance.name, options.breaker)
        : await probeAvailable(db, chosen.instance.id, options.breaker);
      if (!probe) {
        busy.add(chosen.instance.id);
        // Remembered for the cooldown, at most HALF_OPEN_BUSY_MS (the memo caps it).
        if (advance) halfOpenBusy.markBusy(chosen.instance.id, options.breaker.cooldownMs);
        continue;
      }
    }
    return explain(strategy, candidates, busy, tier, chosen, { pool, weights }, null);
  }
}

/** Whether a half-open instance has a probe to give now, without taking it (explanations). */
async function probeAvailable(db: Db, serviceId: string, config: BreakerConfig): Promise<boolean> {
  const breaker = (await getBreakers(db, [serviceId])).get(serviceId);
  return breaker !== undefined && grantProbe(breaker, Date.now(), config) !== undefined;
}

function explain(
  strategy: Strategy,
  candidates: readonly Candidate[],
  busy: ReadonlySet<string>,
  tier: number | null,
  chosen: Candidate | null,
  draw: { pool: readonly Candidate[]; weights: readonly number[] } | undefined,
  reason: string | null,
): Selection {
  const poolShares = draw ? shares(strategy, draw.weights) : [];
  return {
    selected: chosen?.instance ?? null,
    strategy,
    tier,
    reason,
    candidates: candidates.map((candidate) => {
      const exclusions = [...candidate.exclusions];
      if (busy.has(candidate.instance.id)) exclusions.push('CIRCUIT_HALF_OPEN_BUSY');
      const position = draw?.pool.indexOf(candidate) ?? -1;
      if (exclusions.length === 0 && tier !== null && position < 0) {
        exclusions.push(candidate.instance.priority > tier ? 'LOWER_PRIORITY_TIER' : 'DRAINED');
      }
      return {
        instance: candidate.instance,
        circuit: candidate.circuit,
        weight: candidate.instance.weight,
        priority: candidate.instance.priority,
        eligible: position >= 0,
        share: position >= 0 ? poolShares[position]! : null,
        exclusions,
      };
    }),
  };
}

function nothingReason(service: string, candidates: readonly Candidate[]): string {
  if (candidates.length === 0) return `No instance of "${service}" is registered.`;
  return `None of the ${candidates.length} instance(s) of "${service}" is available; see each candidate's exclusions.`;
}
