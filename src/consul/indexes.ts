import { HealthEventType, ServiceEventType } from '@switchboard/contracts';
import type { EventFeed } from '../events/feed.js';
import type { StoredEvent } from '../events/types.js';

/**
 * Names the topics an event changes ("services", "service:api"); an endpoint's index is the
 * newest event of its topics. `forgotten`: topics nothing will ask about again (a removed
 * instance's own), dropped so that churn does not grow the tracker.
 */
export type TopicsOf = (event: StoredEvent) => readonly string[] | { touched: readonly string[]; forgotten: readonly string[] };

/**
 * Consul's X-Consul-Index, from the event log: an answer's index follows the newest event
 * that changed what it shows, so a blocking query on one service does not wake for another's
 * changes. Kept in memory from the event feed; nothing here queries the database.
 *
 * The index is that event's id plus one. Consul clients need an index above 0 even when
 * nothing has happened yet (some stop watching at 0), and with the id itself the empty log
 * (floored to 1) and the first event (id 1) would share index 1: a client blocked on 1 would
 * sleep through that first change. With the offset, the empty log is 1 and event n is n + 1.
 *
 * Events from before this process started are not looked at: every topic starts at the
 * feed's head then (`baseId`). That index may be newer than the answer's last change, never
 * older, so a client that blocks on it misses nothing; and as ids only grow, a restart never
 * moves an index backwards. A read may tell the tracker a topic's exact older event (`learn`:
 * a KV key's ModifyIndex, which is that key's X-Consul-Index).
 */
export class IndexTracker {
  private readonly latest = new Map<string, number>();
  private readonly baseId: number;
  private readonly unobserve: () => void;

  constructor(
    private readonly feed: EventFeed,
    private readonly topicsOf: readonly TopicsOf[],
  ) {
    this.baseId = feed.head;
    this.unobserve = feed.observe((events) => this.apply(events));
  }

  stop(): void {
    this.unobserve();
  }

  /**
   * The index of the newest event of any of `topics`: the base when none came since the start,
   * unless a read told the tracker the topic's older one (`learn`).
   */
  of(...topics: string[]): number {
    let id = topics.length === 0 ? this.baseId : 0;
    for (const topic of topics) id = Math.max(id, this.latest.get(topic) ?? this.baseId);
    return indexOfEvent(id);
  }

  /** Whether the newest event of `topic` is known exactly: one came since the start, or a read told it. */
  knows(topic: string): boolean {
    return this.latest.has(topic);
  }

  /**
   * Records what a read of the database found: `eventId` is the newest event of `topic`
   * committed when it read (a KV value's ModifyIndex event, maybe older than the base). Events
   * applied from the feed are never older, so the newer of the two is kept.
   */
  learn(topic: string, eventId: number): void {
    const known = this.latest.get(topic);
    if (known === undefined || eventId > known) this.latest.set(topic, eventId);
  }

  /** The newest event of any topic starting with `prefix` ("kv:app/" for a recursive read): a scan, for the rarer reads. */
  ofPrefix(prefix: string): number {
    let newest = this.baseId;
    for (const [topic, id] of this.latest) if (id > newest && topic.startsWith(prefix)) newest = id;
    return indexOfEvent(newest);
  }

  /** The index of the newest event this process has read, of any kind. */
  get head(): number {
    return indexOfEvent(Math.max(this.baseId, this.feed.head));
  }

  private apply(events: readonly StoredEvent[]): void {
    for (const event of events) {
      for (const topicsOf of this.topicsOf) {
        const topics = topicsOf(event);
        if (isTopicList(topics)) {
          for (const topic of topics) this.learn(topic, event.id);
        } else {
          for (const topic of topics.touched) this.learn(topic, event.id);
          for (const topic of topics.forgotten) this.latest.delete(topic);
        }
      }
    }
  }
}

/** The X-Consul-Index that stands for event `id` (0: no event at all). */
export const indexOfEvent = (id: number) => id + 1;

const isTopicList = (topics: ReturnType<TopicsOf>): topics is readonly string[] => Array.isArray(topics);

/**
 * Catalog topics: "services" for any change of any instance (its registration, its
 * removal, its health); "service:<name>", "node:<address>" and "instance:<id>" for the
 * ones it belongs to; "created:<id>" when it was first registered. An instance that a
 * re-registration renamed or moved leaves its old service and node, whose topics move too.
 */
export function catalogTopics(): TopicsOf {
  const known = new Map<string, { name: string; node: string | undefined }>();
  return (event) => {
    if (event.type !== ServiceEventType.REGISTERED && event.type !== ServiceEventType.UNREGISTERED && event.type !== HealthEventType.CHANGED) return [];
    const id = String(event.data['id']);
    const name = String(event.data['name']);
    const snapshot = event.data['instance'] as { address?: unknown } | undefined;
    const previous = known.get(id);
    const node = typeof snapshot?.address === 'string' ? snapshot.address : previous?.node;
    const topics = ['services', `service:${name}`, `instance:${id}`];
    if (node !== undefined) topics.push(`node:${node}`);
    if (event.data['created'] === true) topics.push(`created:${id}`);
    if (previous && previous.name !== name) topics.push(`service:${previous.name}`);
    if (previous?.node !== undefined && previous.node !== node) topics.push(`node:${previous.node}`);
    if (event.type !== ServiceEventType.UNREGISTERED) {
      known.set(id, { name, node });
      return topics;
    }
    known.delete(id);
    // Its own topics go; a later registration of the id starts them again, at a newer event.
    return {
      touched: topics.filter((topic) => !topic.startsWith('instance:') && !topic.startsWith('created:')),
      forgotten: [`instance:${id}`, `created:${id}`],
    };
  };
}
