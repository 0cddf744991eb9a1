import { SwitchboardRequestError } from '@switchboard/client';
import { useState } from 'preact/hooks';
import { Badge, Empty, ErrorNote, Section } from '../components';
import { oneLine, Origin, SecretMark, visibleValue } from '../config-value';
import {
  DashboardConfigChangedDocument,
  DashboardConfigHistoryDocument,
  DashboardConfigKeyDocument,
  DashboardRollbackConfigDocument,
  DashboardSetConfigDocument,
  type DashboardConfigEntryFragment,
  type DashboardConfigHistoryQuery,
} from '../generated/graphql';
import { isUnauthenticated, useConnection } from '../lib/connection';
import { diffLines, diffText } from '../lib/diff';
import { dateTime } from '../lib/format';
import { useQuery, useSubscription } from '../lib/live';
import { definePage, href, Link, type RouteParams } from '../lib/router';
import { useSnapshotPosition } from '../lib/snapshot';
import './config.css';

type Entry = DashboardConfigEntryFragment;
type Version = DashboardConfigHistoryQuery['configHistory'][number];

/** An edit in progress: which entry it writes, and the version it was based on (what the user saw). */
interface Edit {
  /** Null: the global value. */
  target: string | null;
  /** The version the user started from; 0 when the entry did not exist (compare-and-set "must not exist"). */
  baseVersion: number;
  draft: string;
  secret: boolean;
}

/** The state of the entry an edit targets, read again after a CONFLICT. */
interface Conflict {
  currentVersion: number;
  current: Entry | null;
  message: string;
}

/** The version a write to `target` must expect, given what `config(key, target)` answered. */
function versionOf(entry: Entry | null | undefined, target: string | null): number {
  return entry && entry.environment === target ? entry.version : 0;
}

function ConfigKey({ query }: { params: RouteParams; query: URLSearchParams }) {
  const key = query.get('key');
  const environment = query.get('env') || undefined;
  if (!key) {
    return (
      <p>
        No key named in this address. <Link href={href('/config')}>Browse the configuration</Link>.
      </p>
    );
  }
  return <ConfigValue key={`${key}\n${environment}`} configKey={key} environment={environment} />;
}

function ConfigValue({ configKey: key, environment }: { configKey: string; environment: string | undefined }) {
  const connection = useConnection();
  const entryQuery = useQuery(DashboardConfigKeyDocument, { key, environment: environment ?? null });
  const entry = entryQuery.data?.config;
  // The history of the entry whose value answers (the global one when inherited).
  const historyEnvironment = entry ? entry.environment : (environment ?? null);
  const history = useQuery(DashboardConfigHistoryDocument, { key, environment: historyEnvironment });
  const after = useSnapshotPosition(JSON.stringify([key, environment]), entryQuery.data?.latestEventId);
  const liveError = useSubscription(DashboardConfigChangedDocument, after === undefined ? undefined : { key, environment: environment ?? null, after }, () => {
    entryQuery.refetch();
    history.refetch();
  });
  const [edit, setEdit] = useState<Edit | undefined>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);

  const refresh = () => {
    entryQuery.refetch();
    history.refetch();
  };
  const startEdit = (target: string | null, from: Entry | null | undefined) => {
    setSaved(undefined);
    const visible = from ? visibleValue(from) : { shown: false as const };
    setEdit({
      target,
      baseVersion: versionOf(from, target),
      draft: visible.shown ? JSON.stringify(visible.value, null, 2) : '',
      secret: from?.secret ?? false,
    });
  };
  const onSaved = (written: Entry, what: string) => {
    setEdit(undefined);
    setSaved(`${what}: ${written.key}${written.environment ? ` in ${written.environment}` : ' (global)'} is now at version ${written.version}.`);
    refresh();
  };

  return (
    <>
      <p class="crumbs">
        <Link href={href('/config', { env: environment })}>Configuration</Link> ›
      </p>
      <h1>
        <code>{key}</code>
      </h1>
      <ErrorNote error={entryQuery.error} what="The value could not be read" />
      <ErrorNote error={liveError} what="Live updates stopped" />
      {saved && (
        <p class="note success" role="status" data-saved>
          {saved}
        </p>
      )}
      <Section title={environment ? `Value in ${environment}` : 'Global value'}>
        {entryQuery.data && !entry && <Empty>No value is set{environment ? ` in ${environment} nor globally` : ''}.</Empty>}
        {entry && <CurrentValue entry={entry} environment={environment} />}
        {entryQuery.data && !edit && (
          <div class="actions">
            {entry && !entry.inherited && (
              <button type="button" onClick={() => startEdit(entry.environment, entry)}>
                Edit
              </button>
            )}
            {entry?.inherited && (
              <>
                <button type="button" onClick={() => startEdit(environment!, entry)}>
                  Override in {environment}
                </button>
                <button type="button" class="quiet" onClick={() => startEdit(null, entry)}>
                  Edit the global value
                </button>
              </>
            )}
            {!entry && (
              <button type="button" onClick={() => startEdit(environment ?? null, null)}>
                Create {environment ? `in ${environment}` : 'a global value'}
              </button>
            )}
          </div>
        )}
        {edit && (
          <Editor
            key={`${edit.target}:${edit.baseVersion}`}
            configKey={key}
            edit={edit}
            latest={entry}
            onCancel={() => setEdit(undefined)}
            onSaved={(written) => onSaved(written, 'Saved')}
            onReload={(current) => startEdit(edit.target, current)}
            onUnauthenticated={(error) => connection.unauthenticated(error)}
          />
        )}
      </Section>
      <Section title={`History${historyEnvironment ? ` in ${historyEnvironment}` : ' of the global value'}`}>
        <ErrorNote error={history.error} what="The history could not be read" />
        {history.data && (
          <History
            configKey={key}
            environment={historyEnvironment}
            versions={history.data.configHistory}
            currentVersion={versionOf(entry, historyEnvironment)}
            onRolledBack={(written) => onSaved(written, 'Rolled back')}
          />
        )}
      </Section>
    </>
  );
}

function CurrentValue({ entry, environment }: { entry: Entry; environment: string | undefined }) {
  const visible = visibleValue(entry);
  return (
    <dl class="facts" data-entry-version={entry.version}>
      <dt>Value</dt>
      <dd>{visible.shown ? <pre class="config-json">{JSON.stringify(visible.value, null, 2)}</pre> : <SecretMark redacted={entry.redacted} />}</dd>
      <dt>Version</dt>
      <dd data-version>{entry.version}</dd>
      <dt>Whose value</dt>
      <dd>
        <Origin entry={entry} environment={environment} />
      </dd>
      <dt>Updated</dt>
      <dd>
        <time dateTime={entry.updatedAt}>{dateTime(entry.updatedAt)}</time>
      </dd>
    </dl>
  );
}

/** The draft's JSON, or why it is not a value the server takes. */
function parseDraft(draft: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  if (draft.trim() === '') return { ok: false, problem: 'Enter a JSON value: a string needs quotes ("like this"), numbers and true/false do not.' };
  let value: unknown;
  try {
    value = JSON.parse(draft);
  } catch (error) {
    return { ok: false, problem: `Not valid JSON: ${(error as Error).message}` };
  }
  if (value === null) return { ok: false, problem: 'null is not a value: a key without a value is deleted, not set to null.' };
  return { ok: true, value };
}

function Editor({
  configKey,
  edit,
  latest,
  onCancel,
  onSaved,
  onReload,
  onUnauthenticated,
}: {
  configKey: string;
  edit: Edit;
  latest: Entry | null | undefined;
  onCancel: () => void;
  onSaved: (entry: Entry) => void;
  onReload: (current: Entry | null) => void;
  onUnauthenticated: (error: unknown) => void;
}) {
  const { client } = useConnection();
  const [draft, setDraft] = useState(edit.draft);
  const [expected, setExpected] = useState(edit.baseVersion);
  const [busy, setBusy] = useState(false);
  const [conflict, setConflict] = useState<Conflict | undefined>(undefined);
  const [failure, setFailure] = useState<unknown>(undefined);
  const parsed = parseDraft(draft);
  // A live change to the entry being edited: saving now will be refused, and the user can see why before trying.
  const movedOn = latest !== undefined && versionOf(latest, edit.target) !== expected && !conflict;
  const where = edit.target === null ? 'the global value' : `the value in ${edit.target}`;

  const save = async () => {
    if (!parsed.ok) return;
    setBusy(true);
    setFailure(undefined);
    try {
      const { setConfig } = await client.request(DashboardSetConfigDocument, {
        key: configKey,
        value: parsed.value,
        environment: edit.target,
        expectedVersion: expected,
      });
      onSaved(setConfig);
    } catch (error) {
      if (error instanceof SwitchboardRequestError && error.code === 'CONFLICT') {
        // Read what is there now, to show it beside the draft.
        try {
          const { config } = await client.request(DashboardConfigKeyDocument, { key: configKey, environment: edit.target });
          setConflict({
            currentVersion: versionOf(config, edit.target),
            current: config && config.environment === edit.target ? config : null,
            message: error.message,
          });
        } catch (reread) {
          setFailure(reread);
        }
      } else {
        if (isUnauthenticated(error)) onUnauthenticated(error);
        setFailure(error);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="editor"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <label for="config-draft">
        New value for {where} (JSON), based on {expected === 0 ? 'no existing value' : `version ${expected}`}
      </label>
      {edit.secret && <p class="muted">The current value is secret and not shown. A value saved here replaces it and stays secret.</p>}
      <textarea
        id="config-draft"
        name="value"
        rows={Math.min(20, Math.max(4, draft.split('\n').length + 1))}
        spellcheck={false}
        autocomplete="off"
        value={draft}
        onInput={(event) => setDraft(event.currentTarget.value)}
        aria-invalid={!parsed.ok}
        aria-describedby="config-draft-problem"
      />
      <p id="config-draft-problem" class={parsed.ok ? 'muted' : 'note error'} role={parsed.ok ? undefined : 'alert'}>
        {parsed.ok ? 'Valid JSON.' : parsed.problem}
      </p>
      {movedOn && (
        <p class="note warn" role="status">
          {where[0]!.toUpperCase() + where.slice(1)} changed while you edit (now version {versionOf(latest, edit.target)}); saving will report the conflict.
        </p>
      )}
      {conflict && (
        <ConflictNote
          conflict={conflict}
          basedOn={expected}
          draft={parsed.ok ? parsed.value : undefined}
          onReload={() => onReload(conflict.current)}
          onOverwrite={() => {
            setExpected(conflict.currentVersion);
            setConflict(undefined);
          }}
        />
      )}
      <ErrorNote error={failure} what="Not saved" />
      <div class="actions">
        <button type="submit" disabled={!parsed.ok || busy || conflict !== undefined}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" class="quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ConflictNote({
  conflict,
  basedOn,
  draft,
  onReload,
  onOverwrite,
}: {
  conflict: Conflict;
  basedOn: number;
  draft: unknown;
  onReload: () => void;
  onOverwrite: () => void;
}) {
  const current = conflict.current;
  const visible = current ? visibleValue(current) : undefined;
  return (
    <div class="note error conflict" role="alert" data-conflict>
      <p>
        <strong>Not saved: someone else changed this value.</strong> You started from {basedOn === 0 ? 'no value' : `version ${basedOn}`}; it is now{' '}
        {current ? <span data-current-version={conflict.currentVersion}>at version {conflict.currentVersion}</span> : 'deleted'}. Nothing was written.
      </p>
      <p class="muted">{conflict.message}</p>
      {current && visible?.shown && (
        <>
          <p>The current value, and how yours differs from it:</p>
          <Diff before={visible.value} after={draft} />
        </>
      )}
      {current && !visible?.shown && (
        <p>
          The current value is <SecretMark redacted={current.redacted} /> and not shown.
        </p>
      )}
      <div class="actions">
        <button type="button" onClick={onReload}>
          Reload: start again from version {conflict.currentVersion}
        </button>
        <button type="button" class="quiet" onClick={onOverwrite}>
          Keep my value: save it over version {conflict.currentVersion}
        </button>
      </div>
    </div>
  );
}

/** A line diff of two JSON values (keys sorted), as +/- lines. */
function Diff({ before, after }: { before: unknown; after: unknown }) {
  const lines = diffLines(diffText(before), diffText(after));
  if (lines.every((line) => line.kind === 'same')) return <p class="muted">The values are the same.</p>;
  return (
    <pre class="diff" aria-label="Differences: lines starting with - are removed, + added">
      {lines.map((line, index) => (
        <span key={index} class={`diff-${line.kind}`}>
          {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
          {line.text}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}

function History({
  configKey,
  environment,
  versions,
  currentVersion,
  onRolledBack,
}: {
  configKey: string;
  environment: string | null;
  versions: Version[];
  currentVersion: number;
  onRolledBack: (entry: Entry) => void;
}) {
  const { client } = useConnection();
  const [compare, setCompare] = useState<{ from: number; to: number } | undefined>(undefined);
  const [confirming, setConfirming] = useState<number | undefined>(undefined);
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  if (versions.length === 0) return <Empty>No version is kept.</Empty>;

  // Default comparison: the newest version against the one before it.
  const from = compare?.from ?? versions[1]?.version ?? versions[0]!.version;
  const to = compare?.to ?? versions[0]!.version;
  const older = versions.find((version) => version.version === from);
  const newer = versions.find((version) => version.version === to);

  const rollback = async (version: number) => {
    setBusy(true);
    setFailure(undefined);
    try {
      const { rollbackConfig } = await client.request(DashboardRollbackConfigDocument, {
        key: configKey,
        environment,
        version,
        expectedVersion: currentVersion,
      });
      setConfirming(undefined);
      onRolledBack(rollbackConfig);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <table class="history">
        <thead>
          <tr>
            <th scope="col" class="num">
              Version
            </th>
            <th scope="col">Changed</th>
            <th scope="col">Value</th>
            <th scope="col">Roll back</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((version) => (
            <tr key={version.version} data-history-version={version.version}>
              <td class="num">{version.version}</td>
              <td>
                <time dateTime={version.changedAt}>{dateTime(version.changedAt)}</time>
              </td>
              <td class="data">
                <VersionValue version={version} />
              </td>
              <td>
                {version.version === currentVersion ? (
                  <Badge tone="good">current</Badge>
                ) : version.deleted ? (
                  <span class="muted">—</span>
                ) : confirming === version.version ? (
                  <span class="confirm">
                    Make version {version.version}'s value current again, as a new version?{' '}
                    <button type="button" disabled={busy} onClick={() => void rollback(version.version)}>
                      Roll back
                    </button>{' '}
                    <button type="button" class="quiet" onClick={() => setConfirming(undefined)}>
                      Cancel
                    </button>
                  </span>
                ) : (
                  <button type="button" class="quiet" onClick={() => setConfirming(version.version)}>
                    Roll back to {version.version}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorNote error={failure} what="Not rolled back" />
      {failure instanceof SwitchboardRequestError && failure.code === 'CONFLICT' && (
        <p class="muted">The value changed meanwhile; the page shows it now. Check it, then roll back again if you still want to.</p>
      )}
      {versions.length > 1 && (
        <div class="compare">
          <h3>Compare versions</h3>
          <label>
            From{' '}
            <select name="from" value={from} onChange={(event) => setCompare({ from: Number(event.currentTarget.value), to })}>
              {versions.map((version) => (
                <option key={version.version} value={version.version}>
                  {version.version}
                </option>
              ))}
            </select>
          </label>{' '}
          <label>
            to{' '}
            <select name="to" value={to} onChange={(event) => setCompare({ from, to: Number(event.currentTarget.value) })}>
              {versions.map((version) => (
                <option key={version.version} value={version.version}>
                  {version.version}
                </option>
              ))}
            </select>
          </label>
          {older && newer && <VersionDiff older={older} newer={newer} />}
        </div>
      )}
    </>
  );
}

function VersionValue({ version }: { version: Version }) {
  if (version.deleted) return <Badge tone="neutral">deleted</Badge>;
  const visible = visibleValue(version);
  return visible.shown ? <code class="config-value">{oneLine(visible.value)}</code> : <SecretMark redacted={version.redacted} />;
}

function VersionDiff({ older, newer }: { older: Version; newer: Version }) {
  const a = visibleValue(older);
  const b = visibleValue(newer);
  if (!a.shown || !b.shown) return <p class="muted">Secret values are not compared.</p>;
  return <Diff before={older.deleted ? undefined : a.value} after={newer.deleted ? undefined : b.value} />;
}

export const configKeyPage = definePage({ path: '/config/entry', title: 'Configuration value', component: ConfigKey });
