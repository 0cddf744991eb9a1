import { sql } from 'drizzle-orm';
import { isDeepStrictEqual } from 'node:util';
import { badInput, conflict, SwitchboardError, type EventActor } from '@switchboard/contracts';
import type { Tx } from '../../db/client.js';
import { AdvisoryLock } from '../../db/locks.js';
import type { ConfigEntryRow } from '../../db/schema/index.js';
import { appendEvents, type Alongside } from '../../events/append.js';
import type { NewEvent } from '../../events/types.js';
import { apiEnvironment } from './definition.js';
import { configChangedEvent } from './events.js';
import { toEntry, type ConfigEntry } from './model.js';

export interface ConfigWriteOptions {
  /** Versions kept per key and environment (older ones are pruned as new ones land). */
  historyLimit: number;
}

export interface Target {
  key: string;
  environment: string;
  expectedVersion: number | undefined;
}

export type Change =
  | { kind: 'set'; value: unknown; secret?: boolean | undefined; flags?: string | undefined }
  | { kind: 'delete' }
  /** Sets the value `version` had, as a new version. */
  | { kind: 'rollback'; version: number };

/** One write of a key, parsed and authorised. */
export interface KeyWrite {
  target: Target;
  change: Change;
  /** Recorded on its event: captured with the write, since a batch runs in no caller's context. */
  actor: EventActor | null;
}

/** A write's answer: the entry as it left it, and its event's id (0: it changed nothing). */
export interface WrittenConfig {
  entry: ConfigEntry;
  eventId: number;
}

/** Each write's own answer: a refusal (CONFLICT, NOT_FOUND, BAD_USER_INPUT) fails that write alone. */
export type KeyWriteAnswer = WrittenConfig | SwitchboardError;

/** A version the batch writes: the entry as it stands after it, its event, the entry it replaced. */
interface NewVersion {
  row: ConfigEntryRow;
  previous: ConfigEntryRow | undefined;
  /** The value was created (anew, or after a deletion): its event is also the entry's creation. */
  created: boolean;
  event: NewEvent;
}

/**
 * The one write path of configuration: writes to one key, applied in order in the caller's
 * transaction, each as if it ran alone. Every write to a key, whatever the environment, takes
 * the key's lock; under it the key is read once, and each write is checked (expectedVersion,
 * NOT_FOUND, a rollback's version) and applied against the state the writes before it left,
 * in memory: its own version, history row and event, or a refusal of its own, or nothing at
 * all when it changes nothing. Then one statement writes the entries and the history, and
 * one appends the events, whatever the number of writes: lock; read; (a rollback's versions;)
 * write; append; commit. Every round trip inside the transaction adds to what the key's other
 * writers, and watchers, wait for.
 */
export async function writeKey(tx: Tx, key: string, writes: readonly KeyWrite[], options: ConfigWriteOptions): Promise<KeyWriteAnswer[]> {
  if (writes.length === 0) return [];
  return writeLocked(tx, key, await lockAndReadKey(tx, key), writes, options);
}

/** writeKey, for a caller that took the key's lock and read its entries itself (lockAndReadKey). */
export async function writeLocked(
  tx: Tx,
  key: string,
  entries: ConfigEntryRow[],
  writes: readonly KeyWrite[],
  options: ConfigWriteOptions,
): Promise<KeyWriteAnswer[]> {
  const versions: NewVersion[] = [];
  const history = new VersionLookup(await readRollbackSources(tx, key, writes), versions, options.historyLimit);
  const outcomes = writes.map((write) => {
    try {
      return applyWrite(entries, write, history, versions);
    } catch (error) {
      if (error instanceof SwitchboardError) return error;
      throw error;
    }
  });
  if (versions.length > 0) await writeVersions(tx, key, versions, options);
  return outcomes.map((outcome) => {
    if (outcome instanceof SwitchboardError) return outcome;
    const { row, environment, version } = outcome;
    return { entry: toEntry(row, environment), eventId: version ? version.row.modifiedEventId : 0 };
  });
}

/**
 * One write against the key's entries as the writes before it left them (`entries` is updated
 * in place). Throws its refusal; returns the entry to answer with, and its new version if any.
 */
function applyWrite(
  entries: ConfigEntryRow[],
  write: KeyWrite,
  history: VersionLookup,
  versions: NewVersion[],
): { row: ConfigEntryRow; environment: string; version?: NewVersion } {
  const { target } = write;
  const change = write.change.kind === 'rollback' ? history.rollbackTo(target, write.change.version) : write.change;
  const index = entries.findIndex((entry) => entry.environment === target.environment);
  const current = index < 0 ? undefined : entries[index];
  const exists = current !== undefined && !current.deleted;
  checkExpectedVersion(target, current, exists);
  if (change.kind === 'delete' && !exists) {
    throw new SwitchboardError('NOT_FOUND', `Configuration key ${describe(target)} does not exist.`, {
      key: target.key,
      environment: apiEnvironment(target.environment),
    });
  }
  const secret = (change.kind === 'set' ? change.secret : undefined) ?? current?.secret ?? false;
  // Flags belong to the value: a value written anew (created, or after a deletion) starts at 0.
  const flags = (change.kind === 'set' ? change.flags : undefined) ?? (exists ? current.flags : '0');
  if (change.kind === 'set' && exists && isDeepStrictEqual(current.value, change.value) && current.secret === secret && current.flags === flags) {
    return { row: current, environment: target.environment };
  }

  const version = (current?.version ?? 0) + 1;
  const deleted = change.kind === 'delete';
  const newValue = change.kind === 'set' ? change.value : null;
  // Secret values never enter the event log: watchers learn that it changed, and read it if they may.
  const hidden = secret || Boolean(current?.secret);
  const created = change.kind === 'set' && !exists;
  const event = configChangedEvent({
    key: target.key,
    environment: apiEnvironment(target.environment),
    version,
    deleted,
    oldValue: exists && !hidden ? current.value : null,
    newValue: hidden ? null : newValue,
    ...(hidden ? { secret: true as const } : {}),
    ...effectiveContext(entries, target),
  });
  // The time and the event ids are filled in once written (writeVersions).
  const row: ConfigEntryRow = {
    key: target.key,
    environment: target.environment,
    value: newValue,
    version,
    deleted,
    secret,
    flags,
    createdVersion: exists ? current.createdVersion : version,
    createdEventId: 0,
    modifiedEventId: 0,
    updatedAt: new Date(0),
  };
  const written: NewVersion = { row, previous: current, created, event: { ...event, actor: write.actor } };
  versions.push(written);
  if (index < 0) entries.push(row);
  else entries[index] = row;
  return { row, environment: target.environment, version: written };
}

/**
 * Writes the batch's versions: each environment's entry as the last of them left it, the history
 * rows (those the last version's pruning keeps: one at a time, each write pruned the ones before),
 * then the events, with each entry's event ids stamped in the append's statement. Fills in the
 * rows as stored: time, ids, and values as jsonb gives them back (key order), as a single write
 * answers them.
 */
async function writeVersions(tx: Tx, key: string, versions: readonly NewVersion[], options: ConfigWriteOptions): Promise<void> {
  const last = new Map(versions.map((version, n) => [version.row.environment, n]));
  const rows = versions.map(({ row }, n) => ({
    n,
    environment: row.environment,
    version: row.version,
    value: row.value,
    deleted: row.deleted,
    secret: row.secret,
    flags: row.flags,
    created_version: row.createdVersion,
    final: last.get(row.environment) === n,
    kept: row.version > versions[last.get(row.environment)!]!.row.version - options.historyLimit,
  }));
  const stored = await tx.execute<{ value: unknown; now: string } & Record<string, unknown>>(sql`
    with versions as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(
        n int, environment text, version int, value jsonb, deleted boolean, secret boolean, flags numeric, created_version int, final boolean, kept boolean)
    ), entry as (
      insert into config_entries (key, environment, value, version, deleted, secret, flags, created_version)
      select ${key}, environment, value, version, deleted, secret, flags, created_version from versions where final
      on conflict (key, environment) do update
        set value = excluded.value, version = excluded.version, deleted = excluded.deleted, secret = excluded.secret,
          flags = excluded.flags, created_version = excluded.created_version, updated_at = now()
    ), history as (
      insert into config_history (key, environment, version, value, deleted, secret)
      select ${key}, environment, version, value, deleted, secret from versions where kept
    ), pruned as (
      delete from config_history h using versions v
      where v.final and h.key = ${key} and h.environment = v.environment and h.version <= v.version - ${options.historyLimit}::int
    )
    select value, to_json(now()) #>> '{}' as now from versions order by n`);

  const events = await appendEvents(
    tx,
    versions.map((version) => version.event),
    stampEventIds(key, versions),
  );
  // The stamps count from the first id: one insert under the append lock draws consecutive ids.
  // Checked, so that a gap (a sequence cache, say) rolls the batch back rather than mislabel it.
  if (events.some((event, n) => event.id !== events[0]!.id + n)) throw new Error('config events of one batch got non-consecutive ids');

  versions.forEach(({ row, previous, created }, n) => {
    row.value = stored[n]!.value;
    row.updatedAt = new Date(stored[n]!.now);
    row.modifiedEventId = events[n]!.id;
    // In order, so a previous version of this batch is already filled in.
    row.createdEventId = created ? events[n]!.id : previous!.createdEventId;
  });
}

/** Each environment's entry keeps the id of its last change's event, and of its last creation's, if in this batch. */
function stampEventIds(key: string, versions: readonly NewVersion[]): Alongside {
  const stamps = new Map<string, { environment: string; modified: number; created: number | null }>();
  versions.forEach(({ row, created }, n) => {
    const stamp = stamps.get(row.environment) ?? { environment: row.environment, modified: n, created: null };
    stamp.modified = n;
    if (created) stamp.created = n;
    stamps.set(row.environment, stamp);
  });
  return (firstEventId) => sql`
    update config_entries c
    set modified_event_id = ${firstEventId} + s.modified, created_event_id = coalesce(${firstEventId} + s.created, c.created_event_id)
    from jsonb_to_recordset(${JSON.stringify([...stamps.values()])}::jsonb) as s(environment text, modified int, created int)
    where c.key = ${key} and c.environment = s.environment`;
}

/**
 * The versions rollbacks ask for, in the history as it was before this batch, on top of which
 * the batch's own versions count, less those its writes have pruned.
 */
class VersionLookup {
  constructor(
    private readonly stored: ReadonlyMap<string, { value: unknown; deleted: boolean }>,
    private readonly written: readonly NewVersion[],
    private readonly historyLimit: number,
  ) {}

  /** The change a rollback to `version` makes; NOT_FOUND without that version, BAD_USER_INPUT for a deletion. */
  rollbackTo(target: Target, version: number): Change {
    const old = this.find(target.environment, version);
    if (!old) {
      throw new SwitchboardError('NOT_FOUND', `Configuration key ${describe(target)} has no version ${version}.`, {
        key: target.key,
        environment: apiEnvironment(target.environment),
        version,
      });
    }
    if (old.deleted) {
      throw badInput(`Version ${version} of ${describe(target)} is a deletion; use deleteConfig to delete the key.`, { field: 'version' });
    }
    return { kind: 'set', value: old.value };
  }

  private find(environment: string, version: number): { value: unknown; deleted: boolean } | undefined {
    const ours = this.written.filter(({ row }) => row.environment === environment);
    // Each write pruned the versions its limit no longer keeps.
    if (ours.length > 0 && version <= ours.at(-1)!.row.version - this.historyLimit) return undefined;
    const row = ours.find((written) => written.row.version === version)?.row;
    return row ? { value: row.value, deleted: row.deleted } : this.stored.get(versionKey(environment, version));
  }
}

/** The history rows the batch's rollbacks name (none: no statement). */
async function readRollbackSources(tx: Tx, key: string, writes: readonly KeyWrite[]): Promise<Map<string, { value: unknown; deleted: boolean }>> {
  const wanted = writes.flatMap(({ target, change }) => (change.kind === 'rollback' ? [{ environment: target.environment, version: change.version }] : []));
  if (wanted.length === 0) return new Map();
  const rows = await tx.execute<{ environment: string; version: number; value: unknown; deleted: boolean } & Record<string, unknown>>(sql`
    select h.environment, h.version, h.value, h.deleted
    from config_history h
    join jsonb_to_recordset(${JSON.stringify(wanted)}::jsonb) as w(environment text, version int)
      on h.environment = w.environment and h.version = w.version
    where h.key = ${key}`);
  return new Map(rows.map((row) => [versionKey(row.environment, row.version), { value: row.value, deleted: row.deleted }]));
}

const versionKey = (environment: string, version: number) => `${version}@${environment}`;

/** A config_entries row from hand-written SQL (timestamps selected as ISO-8601 text). */
type RawEntryRow = Omit<ConfigEntryRow, 'updatedAt' | 'createdVersion' | 'createdEventId' | 'modifiedEventId'> & {
  updated_at: string;
  created_version: number;
  // int8: text from postgres.js.
  created_event_id: string | number;
  modified_event_id: string | number;
} & Record<string, unknown>;

const ENTRY_COLUMNS = sql.raw(
  `key, environment, value, version, deleted, secret, flags::text as flags, created_version, created_event_id, modified_event_id, to_json(updated_at) #>> '{}' as updated_at`,
);

const fromRawEntry = ({ updated_at, created_version, created_event_id, modified_event_id, ...row }: RawEntryRow): ConfigEntryRow => ({
  key: row.key,
  environment: row.environment,
  value: row.value,
  version: row.version,
  deleted: row.deleted,
  secret: row.secret,
  flags: row.flags,
  createdVersion: created_version,
  createdEventId: Number(created_event_id),
  modifiedEventId: Number(modified_event_id),
  updatedAt: new Date(updated_at),
});

/**
 * Takes the key's lock, then reads its entries in every environment. Every write to a
 * key, whatever the environment, takes this lock: a global write records which
 * environments override it (and an environment write the global value it falls
 * back to), and that must not change before the commit.
 *
 * Two statements, on purpose. Under READ COMMITTED a statement's snapshot is taken
 * when it starts, before any lock function inside it runs: a writer that waited for
 * the lock inside the reading statement would still read the entries as they were
 * before the holder committed, and compute the same next version (a duplicate key
 * on config_history). The read that follows the lock gets a fresh snapshot.
 */
export async function lockAndReadKey(tx: Tx, key: string): Promise<ConfigEntryRow[]> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AdvisoryLock.CONFIG_KEY}::int4, hashtext(${key}))`);
  const rows = await tx.execute<RawEntryRow>(sql`select ${ENTRY_COLUMNS} from config_entries where key = ${key}`);
  return rows.map(fromRawEntry);
}

function checkExpectedVersion(target: Target, current: ConfigEntryRow | undefined, exists: boolean): void {
  const expected = target.expectedVersion;
  if (expected === undefined) return;
  if (expected === 0 && exists) {
    throw conflict(`${describe(target)} already exists (version ${current!.version}); expectedVersion 0 requires that it does not.`, {
      currentVersion: current!.version,
    });
  }
  if (expected > 0 && (!exists || current!.version !== expected)) {
    throw conflict(
      exists
        ? `${describe(target)} is at version ${current!.version}, not ${expected}; nothing was written.`
        : `${describe(target)} does not exist, so it is not at version ${expected}; nothing was written.`,
      { currentVersion: exists ? current!.version : null },
    );
  }
}

/** What watchers of other environments need to know about this change (see ConfigEventData). */
function effectiveContext(
  entries: readonly ConfigEntryRow[],
  target: Target,
): { globalValue: unknown; globalVersion: number | null; globalSecret?: true } | { overriddenIn: string[] } {
  if (target.environment !== '') {
    const global = entries.find((entry) => entry.environment === '' && !entry.deleted);
    const globalVersion = global?.version ?? null;
    if (global?.secret) return { globalValue: null, globalVersion, globalSecret: true };
    return { globalValue: global?.value ?? null, globalVersion };
  }
  return { overriddenIn: entries.filter((entry) => entry.environment !== '' && !entry.deleted).map((entry) => entry.environment) };
}

function describe(target: { key: string; environment: string }): string {
  return target.environment === '' ? `"${target.key}" (global)` : `"${target.key}" in ${target.environment}`;
}
