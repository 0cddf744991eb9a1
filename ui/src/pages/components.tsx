import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Badge, Empty, ErrorNote, Section } from '../components';
import { ComponentGraph } from '../component-graph';
import { DashboardComponentsDocument, DashboardDependencyOrderDocument, DashboardOnEventsDocument, type DashboardComponentsQuery } from '../generated/graphql';
import { describeError } from '../lib/connection';
import { ago } from '../lib/format';
import { analyseGraph } from '../lib/graph';
import { useQuery, useSubscription } from '../lib/live';
import { definePage } from '../lib/router';
import { useSnapshotPosition } from '../lib/snapshot';
import './components.css';

type Component = DashboardComponentsQuery['components'][number];

/** A component as people name it: display name and version, the id when it says more. */
function title(component: { name: string; version: string }): string {
  return `${component.name} ${component.version}`;
}

function Components() {
  const catalogue = useQuery(DashboardComponentsDocument, {});
  const list = catalogue.data?.components;
  const after = useSnapshotPosition('components', catalogue.data?.latestEventId);
  // Any registration or removal can change edges anywhere (a dependency by name resolves to the newest version): read again.
  const [revision, setRevision] = useState(0);
  const liveError = useSubscription(DashboardOnEventsDocument, after === undefined ? undefined : { types: ['component.*'], after }, () => {
    catalogue.refetch();
    setRevision((count) => count + 1);
  });

  const graph = useMemo(() => (list ? analyseGraph(list) : undefined), [list]);
  const byId = useMemo(() => new Map((list ?? []).map((component) => [component.id, component])), [list]);
  const name = (id: string) => {
    const component = byId.get(id);
    return component ? title(component) : id;
  };

  return (
    <>
      <h1>Components</h1>
      <ErrorNote error={catalogue.error} what="The catalogue could not be read" />
      <ErrorNote error={liveError} what="Live updates stopped" />
      {list && list.length === 0 && <Empty>No component is registered yet.</Empty>}
      {list && graph && list.length > 0 && (
        <>
          <Section title="Dependency graph">
            <p class="muted">
              Arrows point from a component to what it depends on; what depends on nothing is on the left.{' '}
              <span class="legend missing">Dashed: a dependency nothing registered satisfies.</span> <span class="legend cycle">Red: a dependency cycle.</span>
            </p>
            <div class="graph-scroll">
              <ComponentGraph components={list} graph={graph} />
            </div>
          </Section>
          {graph.cycles.length > 0 && (
            <Section title="Cycles">
              <ul class="problems" data-problem="cycles">
                {graph.cycles.map((members) => (
                  <li key={members.join(' ')} data-cycle={members.join(' ')}>
                    <Badge tone="bad">cycle</Badge> {members.map(name).join(' ⇄ ')}: none of these can start first.
                  </li>
                ))}
              </ul>
            </Section>
          )}
          <Section title="Catalogue">
            <table class="components">
              <thead>
                <tr>
                  <th scope="col">Component</th>
                  <th scope="col">Type</th>
                  <th scope="col">Depends on</th>
                  <th scope="col">Used by</th>
                  <th scope="col">Problems</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {list.map((component) => (
                  <ComponentRow key={component.id} component={component} name={name} cycle={graph.cycleOf.has(component.id)} />
                ))}
              </tbody>
            </table>
          </Section>
          <StartOrder ids={list.map((component) => component.id)} revision={revision} name={name} />
        </>
      )}
    </>
  );
}

/** The catalogue's start order from the server, which names a cycle or a missing dependency when there is none. */
function StartOrder({ ids, revision, name }: { ids: string[]; revision: number; name: (id: string) => string }) {
  // dependencyOrder takes at most 1000 ids; a larger catalogue gets the order of its first 1000.
  const order = useQuery(DashboardDependencyOrderDocument, { ids: ids.slice(0, 1000) });
  const refetch = useRef(order.refetch);
  refetch.current = order.refetch;
  useEffect(() => {
    if (revision > 0) refetch.current();
  }, [revision]);
  return (
    <Section title="Start order">
      {order.error !== undefined ? (
        <p class="note error" data-order="conflict">
          No start order: {describeError(order.error)}
        </p>
      ) : order.data ? (
        <ol class="start-order" data-order="ok">
          {order.data.dependencyOrder.map((entry) => (
            <li key={entry.id}>{name(entry.id)}</li>
          ))}
        </ol>
      ) : (
        <p class="muted">Working out a start order…</p>
      )}
    </Section>
  );
}

function ComponentRow({ component, name, cycle }: { component: Component; name: (id: string) => string; cycle: boolean }) {
  return (
    <tr data-component={component.id}>
      <th scope="row">
        {title(component)}
        <div class="muted mono">{component.id}</div>
        {component.description && <div class="muted">{component.description}</div>}
      </th>
      <td>{component.type.toLowerCase()}</td>
      <td>
        {component.dependencies.length === 0 ? (
          <span class="muted">—</span>
        ) : (
          <ul class="plain">
            {component.resolvedDependencies.map((dependency) => (
              <li key={dependency.id}>→ {name(dependency.id)}</li>
            ))}
          </ul>
        )}
      </td>
      <td>
        <ul class="plain">
          {component.dependents.map((dependent) => (
            <li key={dependent.id}>← {name(dependent.id)}</li>
          ))}
        </ul>
      </td>
      <td>
        <ul class="plain">
          {component.missingDependencies.map((missing) => (
            <li key={`${missing.name}@${missing.range}`} data-missing={missing.name}>
              <Badge tone="bad" title="Nothing registered satisfies this dependency">
                missing
              </Badge>{' '}
              <code>{missing.range === '*' ? missing.name : `${missing.name}@${missing.range}`}</code>
              {missing.availableVersions.length > 0 && <span class="muted"> (registered: {missing.availableVersions.join(', ')})</span>}
            </li>
          ))}
          {cycle && (
            <li data-in-cycle>
              <Badge tone="bad" title="This component depends on itself through others">
                in a cycle
              </Badge>
            </li>
          )}
        </ul>
      </td>
      <td>{ago(component.updatedAt)}</td>
    </tr>
  );
}

export const componentsPage = definePage({ path: '/components', title: 'Components', nav: { label: 'Components', order: 60 }, component: Components });
