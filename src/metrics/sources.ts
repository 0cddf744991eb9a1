import { Gauge, type Registry } from 'prom-client';
import type { Catalog } from '../registry/catalog/index.js';
import type { SourceStatus } from '../registry/sources/index.js';

const REFUSAL_KINDS = ['collision', 'invalid', 'duplicate'] as const;

/**
 * Each source's state (SWITCHBOARD_SOURCES), read at scrape time. Its instances are counted in
 * this server's catalog, so every server reports them; the rest is the follower's view, so only
 * the server that follows the source (`switchboard_source_following` 1) reports it.
 */
export function observeSources(registry: Registry, sources: () => readonly SourceStatus[], catalog: Catalog): void {
  const registers = [registry];
  new Gauge({
    name: 'switchboard_source_instances',
    help: 'Instances in the catalog followed from each source.',
    labelNames: ['source'],
    registers,
    collect() {
      const counts = new Map(sources().map((status) => [status.name, 0]));
      for (const { instance } of catalog.all()) {
        if (instance.source !== null) counts.set(instance.source, (counts.get(instance.source) ?? 0) + 1);
      }
      this.reset();
      for (const [source, count] of counts) this.set({ source }, count);
    },
  });
  new Gauge({
    name: 'switchboard_source_following',
    help: 'Whether this server follows the source now (1): one server at a time does.',
    labelNames: ['source'],
    registers,
    collect() {
      for (const status of sources()) this.set({ source: status.name }, status.following ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchboard_source_stale',
    help: 'Whether the source has stopped answering (1) while this server follows it: its instances are kept for SWITCHBOARD_SOURCE_GRACE.',
    labelNames: ['source'],
    registers,
    collect() {
      for (const status of sources()) this.set({ source: status.name }, status.staleSince === null ? 0 : 1);
    },
  });
  new Gauge({
    name: 'switchboard_source_last_sync_timestamp_seconds',
    help: 'When this server last wrote a set the source delivered (Unix time; 0: never).',
    labelNames: ['source'],
    registers,
    collect() {
      for (const status of sources()) this.set({ source: status.name }, status.lastSyncAt === null ? 0 : status.lastSyncAt.getTime() / 1000);
    },
  });
  new Gauge({
    name: 'switchboard_source_refused_instances',
    help: 'Instances of the last set the source delivered that were not written, by why: an id held by another owner (collision), invalid, or delivered twice.',
    labelNames: ['source', 'reason'],
    registers,
    collect() {
      for (const status of sources()) {
        for (const reason of REFUSAL_KINDS) this.set({ source: status.name, reason }, status.refused.filter((refusal) => refusal.kind === reason).length);
      }
    },
  });
}
