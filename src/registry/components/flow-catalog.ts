import { ComponentEventType } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import type { EventFeed } from '../../events/feed.js';
import type { Component } from './model.js';
import { listComponents } from './queries.js';

/**
 * Component catalogue reads made for composition in this process. Tests read it to see that a
 * change costs one read per server, not one per `flowChanged` subscriber.
 */
export const flowCatalogReads = { count: 0 };

/** One read of the component catalogue, and how far the server's event feed had got when it began. */
export interface CatalogRead {
  /** Every event up to this id was committed before the read began: the read reflects it. */
  readonly head: number;
  readonly components: Promise<readonly Component[]>;
}

const COMPONENT_EVENT_TYPES: readonly string[] = [ComponentEventType.REGISTERED, ComponentEventType.UNREGISTERED];

/**
 * The component catalogue as composition reads it, shared by everything composing on one server.
 *
 * A read stays good until the feed hands out a component event newer than the read's start, so a
 * thousand `flowChanged` watchers woken by one registration share one read (`current`). A caller
 * that may have just written through another server cannot trust the feed to have seen it yet:
 * `fresh` gives it a read begun after it asked, shared with everyone who asked while that read
 * was waiting to start.
 */
export class FlowCatalog {
  /** The newest component event the feed has handed out. */
  private lastComponentEvent = 0;
  private latest: CatalogRead | undefined;
  private inFlight: CatalogRead | undefined;
  private nextFresh: Promise<CatalogRead> | undefined;

  constructor(
    private readonly db: Db,
    private readonly feed: EventFeed,
  ) {
    // The feed calls observers before it wakes its waiters: a watcher woken by an event finds it counted here.
    feed.observe((events) => {
      for (const event of events) if (COMPONENT_EVENT_TYPES.includes(event.type)) this.lastComponentEvent = event.id;
    });
  }

  /** A read reflecting every component event the feed has handed out (the last one, while that holds). */
  current(): CatalogRead {
    if (this.latest !== undefined && this.latest.head >= this.lastComponentEvent) return this.latest;
    return this.read();
  }

  /**
   * A read begun after this call: it sees every write committed before the call, on any server
   * (read-your-writes for a query, or a subscription's first message). A read already running may
   * have begun before the caller's write, so callers arriving meanwhile share the next one.
   */
  async fresh(): Promise<CatalogRead> {
    if (this.inFlight === undefined) return this.read();
    this.nextFresh ??= this.inFlight.components.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.nextFresh;
  }

  private startQueued(): CatalogRead {
    this.nextFresh = undefined;
    return this.read();
  }

  private read(): CatalogRead {
    flowCatalogReads.count += 1;
    const read: CatalogRead = { head: this.feed.head, components: listComponents(this.db, {}) };
    this.latest = read;
    this.inFlight = read;
    const settle = () => {
      if (this.inFlight === read) this.inFlight = undefined;
    };
    // A failed read is not kept: the next caller reads again (and gets the database's error if it is still away).
    read.components.then(settle, () => {
      settle();
      if (this.latest === read) this.latest = undefined;
    });
    return read;
  }
}

/** One per server: the feed is the server's (a WeakMap, so a stopped server's goes with it). */
const byFeed = new WeakMap<EventFeed, FlowCatalog>();

export function flowCatalogOf(db: Db, feed: EventFeed): FlowCatalog {
  let catalog = byFeed.get(feed);
  if (catalog === undefined) byFeed.set(feed, (catalog = new FlowCatalog(db, feed)));
  return catalog;
}
