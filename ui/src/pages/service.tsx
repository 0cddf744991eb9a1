import { useMemo, useRef, useState } from 'preact/hooks';
import { Empty, ErrorNote, Section, StateBadge } from '../components';
import { DashboardCircuitChangedDocument, DashboardInstancesChangedDocument, DashboardServiceDocument } from '../generated/graphql';
import { dateTime } from '../lib/format';
import { useQuery, useSubscription } from '../lib/live';
import { useServiceStates } from '../lib/service-states';
import { definePage, href, Link, navigate, type RouteParams } from '../lib/router';
import { InstanceTable, metadataKeys, metadataOf } from '../service/instances';
import { Traffic } from '../service/traffic';

/** Metadata filters live in the URL (`?meta.zone=eu-1`): a filtered view can be shared. */
const META = 'meta.';

function Service({ params, query }: { params: RouteParams; query: URLSearchParams }) {
  const name = params['name']!;
  const service = useQuery(DashboardServiceDocument, { name });
  // Where the first snapshot stood in the event log: the subscriptions start there, and resume on their own after.
  const start = useRef<string | undefined>(undefined);
  start.current ??= service.data?.latestEventId;
  const after = start.current;
  // Per instance, how many health changes arrived: its timeline re-reads when its count moves.
  const [revisions, setRevisions] = useState<Map<string, number>>(new Map());
  const [changes, setChanges] = useState(0);

  const changed = (serviceId: string) => {
    service.refetch();
    setChanges((count) => count + 1);
    setRevisions((previous) => new Map(previous).set(serviceId, (previous.get(serviceId) ?? 0) + 1));
  };
  const live = after === undefined ? undefined : { names: [name], after };
  const instancesError = useSubscription(DashboardInstancesChangedDocument, live, ({ instancesChanged }) => changed(instancesChanged.serviceId));
  const circuitsError = useSubscription(DashboardCircuitChangedDocument, after === undefined ? undefined : { name, after }, ({ circuitChanged }) =>
    changed(circuitChanged.serviceId),
  );

  const instances = service.data?.discoverServices;
  const keys = useMemo(() => metadataKeys(instances ?? []), [instances]);
  const filters = [...query.entries()].filter(([key]) => key.startsWith(META)).map(([key, value]) => [key.slice(META.length), value] as const);
  const shown = (instances ?? []).filter((instance) => filters.every(([key, value]) => metadataOf(instance)[key] === value));
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set(`${META}${key}`, value);
    else next.delete(`${META}${key}`);
    const search = next.toString();
    navigate(`${href(`/services/${encodeURIComponent(name)}`)}${search ? `?${search}` : ''}`, { replace: true });
  };
  const passing = (instances ?? []).filter((instance) => instance.health.status === 'PASSING').length;
  const status = useServiceStates(name).report?.services.find((entry) => entry.name === name);

  return (
    <>
      <p class="crumbs">
        <Link href={href('/')}>Overview</Link> / service
      </p>
      <h1>
        {name} {status && <StateBadge state={status.state} />}
      </h1>
      {instances && (
        <p class="lead" data-testid="service-summary">
          {instances.length} {instances.length === 1 ? 'instance' : 'instances'}, {passing} passing
          {status && status.reasons.length > 0 && <> · {status.reasons.join('; ')}</>}
          {status?.until && <> (until {dateTime(status.until)})</>}
        </p>
      )}
      <ErrorNote error={service.error} what="The service could not be read" />
      <ErrorNote error={instancesError ?? circuitsError} what="Live updates stopped" />
      {instances && instances.length === 0 && <Empty>No instance of {name} is registered.</Empty>}
      {instances && instances.length > 0 && (
        <>
          <Section title="Instances">
            {keys.size > 0 && (
              <form class="toolbar" aria-label="Filter by metadata" onSubmit={(event) => event.preventDefault()}>
                {[...keys.entries()].map(([key, values]) => (
                  <label key={key}>
                    {key}{' '}
                    <select value={filters.find(([filter]) => filter === key)?.[1] ?? ''} onChange={(event) => setFilter(key, event.currentTarget.value)}>
                      <option value="">any</option>
                      {values.map((value) => (
                        <option key={value} value={value}>
                          {value}
                        </option>
                      ))}
                    </select>
                  </label>
                ))}
                {filters.length > 0 && (
                  <button type="button" class="quiet" onClick={() => navigate(href(`/services/${encodeURIComponent(name)}`), { replace: true })}>
                    Clear filters
                  </button>
                )}
              </form>
            )}
            <InstanceTable instances={shown} columns={[...keys.keys()]} revisions={revisions} />
          </Section>
          <Section title="Who gets traffic and why">
            <Traffic name={name} revision={changes} />
          </Section>
        </>
      )}
    </>
  );
}

export const servicePage = definePage({ path: '/services/:name', title: (params) => params['name'] ?? 'Service', component: Service });
