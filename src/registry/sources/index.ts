import { randomBytes } from 'node:crypto';
import { toError } from '@switchboard/contracts';
import type { CatalogSource } from '@switchboard/sdk';
import type { Db } from '../../db/client.js';
import type { Logger } from '../../logger.js';
import { startPeriodic } from '../../periodic.js';
import { openSourceBackend, type ModuleLoader } from './backends.js';
import type { SourceConfig } from './config.js';
import { SourceFollower, type SourceFollowerOptions } from './follower.js';
import { removeUnfollowedSource, unfollowedSources } from './unfollowed.js';

/** External registries followed into the catalog (SWITCHBOARD_SOURCES): see docs/sources.md. */
export { parseSources, SOURCE_PACKAGES, type SourceConfig, type SourceType } from './config.js';
export { openSourceBackend, type ModuleLoader } from './backends.js';
export { SourceFollower, type SourceFollowerOptions, type SourceStatus } from './follower.js';
export { reconcileSource, removeSourceInstances, sourceRole, SourceLeadershipLost, type ReconcileResult, type SourceLease } from './reconcile.js';
export { wantedInstances, type Refusal, type WantedInstance } from './wanted.js';
export { removeUnfollowedSource, unfollowedSources } from './unfollowed.js';

/** A configured source and its backend, constructed (not yet connected). */
export interface OpenedSource {
  config: SourceConfig;
  backend: CatalogSource;
}

/**
 * Loads each configured source's package and constructs its backend, before the server starts
 * serving: a missing package or options its backend refuses fail the start, saying what to do.
 */
export async function openSources(configs: readonly SourceConfig[], log: Logger, load?: ModuleLoader): Promise<OpenedSource[]> {
  const opened: OpenedSource[] = [];
  try {
    for (const config of configs) {
      const warn = (message: string) => log.warn({ source: config.name, sourceType: config.type }, message);
      opened.push({ config, backend: await openSourceBackend(config, warn, load) });
    }
  } catch (error) {
    await closeAll(opened, log);
    throw error;
  }
  return opened;
}

export async function closeAll(opened: readonly OpenedSource[], log: Logger): Promise<void> {
  await Promise.all(opened.map(({ backend }) => backend.close().catch((error: unknown) => log.warn({ err: toError(error) }, 'could not close a source'))));
}

export interface SourceFollowers {
  followers: readonly SourceFollower[];
  /** Stops every follower (each hands its lead over; the backends stay open: closeAll closes them). */
  stop(): Promise<void>;
}

/**
 * Starts following each opened source, one process at a time across servers (follower.ts), and
 * removing the instances of sources no server follows any more (unfollowed.ts): run with no source
 * configured too, so that taking a source out of every server's settings removes its instances.
 */
export function followSources(db: Db, opened: readonly OpenedSource[], options: SourceFollowerOptions): SourceFollowers {
  const followers = opened.map(
    ({ config, backend }) => new SourceFollower(db, config, backend, { ...options, log: options.log.child({ source: config.name, sourceType: config.type }) }),
  );
  for (const follower of followers) follower.start();
  const followed = opened.map(({ config }) => config.name);
  const holder = `${options.nodeName}/${randomBytes(3).toString('hex')}`;
  const sweep = startPeriodic('removing unfollowed sources', options.leaderTtlMs, options.log, async () => {
    for (const source of await unfollowedSources(db, followed, options.graceMs)) {
      const removed = await removeUnfollowedSource(db, source, holder, options.leaderTtlMs);
      if (removed > 0) options.log.warn({ source, removed }, `removed the instances of source ${source}: no server follows it any more`);
    }
    return false;
  });
  return {
    followers,
    async stop() {
      await Promise.all([sweep.stop(), ...followers.map((follower) => follower.stop())]);
    },
  };
}
