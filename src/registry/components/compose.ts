import {
  ComponentEventType,
  composeFlow as composeFromCatalog,
  HealthEventType,
  parseComposeRequest,
  ServiceEventType,
  type ComposeRequirementsInput,
  type FlowComposition,
} from '@switchboard/contracts';
import type { Db, Executor } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import type { StoredEvent } from '../../events/types.js';
import { discover, type Catalog } from '../catalog/index.js';
import type { Component } from './model.js';
import { listComponents } from './queries.js';

export type Composition = FlowComposition<Component>;

/**
 * Which registered components fit `flow` now, resolved and ordered (the algorithm is
 * `composeFlow` in @switchboard/contracts, which the SDK runs too). A provider is healthy
 * when discovery would return a passing instance of it.
 */
export async function composeFlow(db: Executor, catalog: Catalog, flow: string, requirements?: ComposeRequirementsInput | null): Promise<Composition> {
  return (await composeWithProviders(db, catalog, flow, requirements)).composition;
}

/** The composition, and every provider the catalog names (whose health could change it). */
async function composeWithProviders(db: Executor, catalog: Catalog, flow: string, requirements: ComposeRequirementsInput | null | undefined) {
  parseComposeRequest(flow, requirements); // bad input is refused before the catalog is read
  const components = await listComponents(db, {});
  const composition = composeFromCatalog(flow, components, {
    providerHealthy: (service) => discover(catalog, { name: service, passingOnly: true }).length > 0,
    requirements,
  });
  return { composition, providers: new Set(components.flatMap((component) => component.provider ?? [])) };
}

/** A burst of changes (an apply registering ten components) becomes one recomputation. */
export const FLOW_COALESCE_MS = 100;

export interface FlowWatchDeps {
  db: Db;
  feed: EventFeed;
  catalog: Catalog;
}

/**
 * The composition now, then again whenever it would differ: recomputed after a component
 * event, or a registration, removal or health change of a service some component names as
 * its provider; sent only when it differs from the last one sent.
 */
export function watchFlow(deps: FlowWatchDeps, flow: string, requirements?: ComposeRequirementsInput | null): AsyncIterableIterator<Composition> {
  parseComposeRequest(flow, requirements); // bad input fails the subscribe, not the first message
  return new FlowStream(deps, flow, requirements ?? null);
}

const SERVICE_EVENT_TYPES: readonly string[] = [ServiceEventType.REGISTERED, ServiceEventType.UNREGISTERED, HealthEventType.CHANGED];
const COMPONENT_EVENT_TYPES: readonly string[] = [ComponentEventType.REGISTERED, ComponentEventType.UNREGISTERED];

class FlowStream implements AsyncIterableIterator<Composition> {
  private cursor: number;
  private lastSent: string | undefined;
  /** The providers named in the catalog when last composed: only their health can change the answer. */
  private providers = new Set<string>();
  private done = false;
  private stopWaiting: (() => void) | undefined;

  constructor(
    private readonly deps: FlowWatchDeps,
    private readonly flow: string,
    private readonly requirements: ComposeRequirementsInput | null,
  ) {
    this.cursor = deps.feed.head;
  }

  async next(): Promise<IteratorResult<Composition>> {
    try {
      while (!this.done && !this.deps.feed.isClosed) {
        if (this.lastSent !== undefined) {
          await this.waitForChange();
          await this.pause(FLOW_COALESCE_MS);
          this.consumeEvents(); // what arrived during the pause is in this computation
          if (this.done || this.deps.feed.isClosed) break;
        }
        // Read-your-writes: the catalog's health reflects every event the feed has handed out so far.
        await this.deps.catalog.waitFor(this.cursor);
        const { composition, providers } = await composeWithProviders(this.deps.db, this.deps.catalog, this.flow, this.requirements);
        this.providers = providers;
        const fingerprint = JSON.stringify(composition, omitTimes);
        if (fingerprint === this.lastSent) continue;
        this.lastSent = fingerprint;
        return { done: false, value: composition };
      }
    } catch (error) {
      this.finish();
      throw error;
    }
    this.finish();
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<Composition>> {
    this.finish();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Composition> {
    return this;
  }

  private async waitForChange(): Promise<void> {
    while (!this.done && !this.deps.feed.isClosed) {
      if (this.consumeEvents()) return;
      await new Promise<void>((resolve) => {
        const cancel = this.deps.feed.whenEventAfter(this.cursor, resolve);
        this.stopWaiting = () => {
          cancel();
          resolve();
        };
      });
      this.stopWaiting?.();
      this.stopWaiting = undefined;
    }
  }

  /** Moves the cursor over the feed's new events; true when one of them may change the composition. */
  private consumeEvents(): boolean {
    const head = this.deps.feed.head;
    if (head <= this.cursor) return false;
    const events = this.deps.feed.eventsAfter(this.cursor, head - this.cursor);
    this.cursor = head;
    // The window no longer reaches back that far: assume something relevant happened.
    if (events === undefined) return true;
    return events.some((event) => this.concerns(event));
  }

  private concerns(event: StoredEvent): boolean {
    if (COMPONENT_EVENT_TYPES.includes(event.type)) return true;
    const name = event.data['name'];
    return SERVICE_EVENT_TYPES.includes(event.type) && typeof name === 'string' && this.providers.has(name);
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.stopWaiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.stopWaiting = undefined;
  }

  private finish(): void {
    this.done = true;
    this.stopWaiting?.();
  }
}

/** registeredAt/updatedAt move on a re-registration that changes nothing the composition says. */
function omitTimes(key: string, value: unknown): unknown {
  return key === 'registeredAt' || key === 'updatedAt' ? undefined : value;
}
