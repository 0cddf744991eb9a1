import {
  ComponentEventType,
  composeFlow as composeFromCatalog,
  HealthEventType,
  parseComposeRequest,
  ServiceEventType,
  type ComposeRequirementsInput,
  type FlowComposition,
} from '@switchboard/contracts';
import { createHash } from 'node:crypto';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import { FeedWatch } from '../../events/feed-watch.js';
import type { StoredEvent } from '../../events/types.js';
import { discover, type Catalog } from '../catalog/index.js';
import type { Component } from './model.js';
import { flowCatalogOf, type CatalogRead, type FlowCatalog } from './flow-catalog.js';

export type Composition = FlowComposition<Component>;

export interface FlowDeps {
  db: Db;
  feed: EventFeed;
  catalog: Catalog;
}

/**
 * Which registered components fit `flow` now, resolved and ordered (the algorithm is
 * `composeFlow` in @switchboard/contracts, which the SDK runs too). A provider is healthy
 * when discovery would return a passing instance of it.
 *
 * The components come from a read begun after the call (shared with concurrent callers on
 * this server), so a query right after a registration through any server sees it.
 */
export async function composeFlow(deps: FlowDeps, flow: string, requirements?: ComposeRequirementsInput | null): Promise<Composition> {
  parseComposeRequest(flow, requirements); // bad input is refused before the catalog is read
  const read = await flowCatalogOf(deps.db, deps.feed).fresh();
  return composeFrom(await read.components, deps.catalog, flow, requirements);
}

function composeFrom(components: readonly Component[], catalog: Catalog, flow: string, requirements: ComposeRequirementsInput | null | undefined) {
  return composeFromCatalog(flow, components, {
    providerHealthy: (service) => discover(catalog, { name: service, passingOnly: true }).length > 0,
    requirements,
  });
}

/** A burst of changes (an apply registering ten components) becomes one recomputation. */
export const FLOW_COALESCE_MS = 100;

/**
 * The composition now, then again whenever it would differ: recomputed after a component
 * event, or a registration, removal or health change of a service some component names as
 * its provider; sent only when it differs from the last one sent.
 *
 * Watchers on one server share the work: one catalogue read per batch of component events
 * (flow-catalog.ts), and one computation per (flow, requirements) for each state of that read
 * and of the in-memory catalog (SharedFlows below).
 */
export function watchFlow(deps: FlowDeps, flow: string, requirements?: ComposeRequirementsInput | null): AsyncIterableIterator<Composition> {
  const request = parseComposeRequest(flow, requirements); // bad input fails the subscribe, not the first message
  const shared = sharedFlowsOf(deps);
  return new FlowStream(deps, shared, shared.join(request, flow, requirements ?? null));
}

const SERVICE_EVENT_TYPES: readonly string[] = [ServiceEventType.REGISTERED, ServiceEventType.UNREGISTERED, HealthEventType.CHANGED];
const COMPONENT_EVENT_TYPES: readonly string[] = [ComponentEventType.REGISTERED, ComponentEventType.UNREGISTERED];

/** Compositions computed for flowChanged watchers in this process (tests see the sharing with it). */
export const flowCompositions = { count: 0 };

/** One computation, shared by the watchers of its (flow, requirements). */
interface Computed {
  composition: Composition;
  /** What watchers compare: the composition without its times. */
  fingerprint: string;
  /** The providers the catalogue names: only their health can change the answer. */
  providers: ReadonlySet<string>;
}

/** The watchers of one (flow, requirements), and the last computation made for them. */
interface FlowGroup {
  readonly key: string;
  readonly flow: string;
  readonly requirements: ComposeRequirementsInput | null;
  watchers: number;
  last?: { read: CatalogRead; catalogAt: number; computed: Computed };
}

/**
 * A server's flow groups. A group lives while it has watchers, so what it holds is bounded by the
 * subscriptions open (which the per-connection and per-token limits bound).
 */
class SharedFlows {
  readonly components: FlowCatalog;
  private readonly groups = new Map<string, FlowGroup>();

  constructor(private readonly deps: FlowDeps) {
    this.components = flowCatalogOf(deps.db, deps.feed);
  }

  join(request: ReturnType<typeof parseComposeRequest>, flow: string, requirements: ComposeRequirementsInput | null): FlowGroup {
    // The parsed request, so equal requests written differently share; hashed, since 64 requirements make a long key.
    const key = createHash('sha256').update(JSON.stringify(request)).digest('base64url');
    let group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, (group = { key, flow, requirements, watchers: 0 }));
    group.watchers += 1;
    return group;
  }

  leave(group: FlowGroup): void {
    group.watchers -= 1;
    if (group.watchers <= 0 && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /**
   * The group's composition from `read` and the in-memory catalog as it is now: computed once for
   * each state of the two (the catalog's state is the last event it applied), reused by the rest.
   */
  compose(group: FlowGroup, read: CatalogRead, components: readonly Component[]): Computed {
    const catalogAt = this.deps.catalog.appliedThrough;
    const last = group.last;
    if (last !== undefined && last.read === read && last.catalogAt === catalogAt) return last.computed;
    flowCompositions.count += 1;
    const composition = composeFrom(components, this.deps.catalog, group.flow, group.requirements);
    const computed = {
      composition,
      fingerprint: JSON.stringify(composition, omitTimes),
      providers: new Set(components.flatMap((component) => component.provider ?? [])),
    };
    group.last = { read, catalogAt, computed };
    return computed;
  }
}

/** One per server, beside its FlowCatalog. */
const sharedByFeed = new WeakMap<EventFeed, SharedFlows>();

function sharedFlowsOf(deps: FlowDeps): SharedFlows {
  let shared = sharedByFeed.get(deps.feed);
  if (shared === undefined) sharedByFeed.set(deps.feed, (shared = new SharedFlows(deps)));
  return shared;
}

class FlowStream extends FeedWatch<Composition> {
  /** The providers named in the catalog when last composed: only their health can change the answer. */
  private providers: ReadonlySet<string> = new Set<string>();

  constructor(
    private readonly deps: FlowDeps,
    private readonly shared: SharedFlows,
    private readonly group: FlowGroup,
  ) {
    super(deps.feed);
  }

  protected async compute(first: boolean): Promise<{ value: Composition; fingerprint: string }> {
    // Read-your-writes: the catalog's health reflects every event the feed has handed out so far.
    await this.deps.catalog.waitFor(this.position);
    // The first message is as fresh as a query (the subscriber may have just written through another
    // server); later ones follow the feed, and share the read the change they follow caused.
    const read = first ? await this.shared.components.fresh() : this.shared.components.current();
    const { composition, fingerprint, providers } = this.shared.compose(this.group, read, await read.components);
    this.providers = providers;
    return { value: composition, fingerprint };
  }

  protected async settle(): Promise<void> {
    await this.pause(FLOW_COALESCE_MS);
    this.consumeEvents(); // what arrived during the pause is in this computation
  }

  protected concerns(event: StoredEvent): boolean {
    if (COMPONENT_EVENT_TYPES.includes(event.type)) return true;
    const name = event.data['name'];
    return SERVICE_EVENT_TYPES.includes(event.type) && typeof name === 'string' && this.providers.has(name);
  }

  protected override onFinish(): void {
    this.shared.leave(this.group);
  }
}

/** registeredAt/updatedAt move on a re-registration that changes nothing the composition says. */
function omitTimes(key: string, value: unknown): unknown {
  return key === 'registeredAt' || key === 'updatedAt' ? undefined : value;
}
