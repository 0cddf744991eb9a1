import { useState } from 'preact/hooks';
import { Empty, ErrorNote, Section } from '../components';
import { Origin, ValueCell } from '../config-value';
import { DashboardConfigPrefixChangedDocument, DashboardConfigsDocument } from '../generated/graphql';
import { ago } from '../lib/format';
import { useQuery, useSubscription } from '../lib/live';
import { definePage, href, Link, navigate, type RouteParams } from '../lib/router';
import { useSnapshotPosition } from '../lib/snapshot';
import './config.css';

/**
 * The address of one key's page, in an environment (or the global one). The key goes in the query:
 * a path ending in "api.timeout" would look like a file to the server, which answers those with 404.
 */
export function configKeyHref(key: string, environment: string | undefined): string {
  return href('/config/entry', { key, env: environment });
}

function Configuration({ query }: { params: RouteParams; query: URLSearchParams }) {
  const prefix = query.get('prefix') ?? '';
  const environment = query.get('env') || undefined;
  const configs = useQuery(DashboardConfigsDocument, { prefix: prefix || null, environment: environment ?? null });
  const view = JSON.stringify([prefix, environment]);
  const after = useSnapshotPosition(view, configs.data?.latestEventId);
  const liveError = useSubscription(
    DashboardConfigPrefixChangedDocument,
    after === undefined ? undefined : { prefix, environment: environment ?? null, after },
    () => configs.refetch(),
  );
  const list = configs.data?.configs;

  return (
    <>
      <h1>Configuration</h1>
      <Section title="Browse">
        <BrowseForm key={view} prefix={prefix} environment={environment} />
        <ErrorNote error={configs.error} what="The values could not be read" />
        <ErrorNote error={liveError} what="Live updates stopped" />
        {list && list.length === 0 && (
          <Empty>
            No key {prefix ? `under "${prefix}"` : 'is set'}
            {environment ? ` for ${environment}` : ''}.
          </Empty>
        )}
        {list && list.length > 0 && (
          <table class="configs" aria-busy={configs.loading}>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col" class="num">
                  Version
                </th>
                <th scope="col">Whose value</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.map((entry) => (
                <tr key={entry.key} data-key={entry.key}>
                  <th scope="row">
                    <Link href={configKeyHref(entry.key, environment)}>{entry.key}</Link>
                  </th>
                  <td class="data">
                    <ValueCell entry={entry} />
                  </td>
                  <td class="num">{entry.version}</td>
                  <td>
                    <Origin entry={entry} environment={environment} />
                  </td>
                  <td>{ago(entry.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <NewKey environment={environment} />
    </>
  );
}

function BrowseForm({ prefix, environment }: { prefix: string; environment: string | undefined }) {
  const [draft, setDraft] = useState({ prefix, environment: environment ?? '' });
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        navigate(href('/config', { prefix: draft.prefix.trim(), env: draft.environment.trim() }), { replace: true });
      }}
    >
      <label>
        Key prefix
        <input name="prefix" placeholder="api." value={draft.prefix} onInput={(event) => setDraft({ ...draft, prefix: event.currentTarget.value })} />
      </label>
      <label>
        Environment
        <input
          name="environment"
          placeholder="global"
          title="Empty: the global values. An environment shows its own values, and the global ones where it has none."
          value={draft.environment}
          onInput={(event) => setDraft({ ...draft, environment: event.currentTarget.value })}
        />
      </label>
      <button type="submit">Show</button>
    </form>
  );
}

/** Opens a key's page, where a value that does not exist yet can be created. */
function NewKey({ environment }: { environment: string | undefined }) {
  const [key, setKey] = useState('');
  return (
    <Section title="Open or create a key">
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) navigate(configKeyHref(key.trim(), environment));
        }}
      >
        <label>
          Key
          <input name="key" placeholder="api.timeout" required value={key} onInput={(event) => setKey(event.currentTarget.value)} />
        </label>
        <button type="submit">Open</button>
      </form>
    </Section>
  );
}

export const configPage = definePage({ path: '/config', title: 'Configuration', nav: { label: 'Configuration', order: 50 }, component: Configuration });
