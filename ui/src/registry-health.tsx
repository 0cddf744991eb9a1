import { Badge, Empty, ErrorNote, HealthBadge, Section } from './components';
import type { DashboardRegistryHealthQuery, DashboardRegistryInstanceFragment } from './generated/graphql';
import { ago, dateTime, hostPort } from './lib/format';
import type { QueryState } from './lib/live';

/** The registry's own servers, workers and database (registryHealth); the overview re-reads it when they change. */
export function RegistryHealthPanel({ health }: { health: QueryState<DashboardRegistryHealthQuery> }) {
  const data = health.data?.registryHealth;
  return (
    <Section title="Registry health">
      <ErrorNote error={health.error} what="The registry's health could not be read" />
      {data && (
        <>
          <p data-testid="database">
            Database: {data.database.reachable ? <Badge tone="good">reachable</Badge> : <Badge tone="bad">unreachable</Badge>}
            {data.database.latency && <span class="muted"> · round trip {data.database.latency}</span>}
            {data.database.version && <span class="muted"> · PostgreSQL {data.database.version}</span>}
          </p>
          <RegistryInstances title="Servers" instances={data.servers} />
          <RegistryInstances title="Workers" instances={data.workers} />
        </>
      )}
    </Section>
  );
}

function RegistryInstances({ title, instances }: { title: string; instances: DashboardRegistryInstanceFragment[] }) {
  return (
    <>
      <h3>
        {title} ({instances.length})
      </h3>
      {instances.length === 0 ? (
        <Empty>None registered.</Empty>
      ) : (
        <table class="registry">
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">Address</th>
              <th scope="col">Version</th>
              <th scope="col">Health</th>
              <th scope="col">Up since</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((instance) => {
              const metadata = (instance.metadata ?? {}) as Record<string, unknown>;
              return (
                <tr key={instance.id} data-registry-instance={instance.id}>
                  <th scope="row">
                    {String(metadata['node'] ?? instance.id)}
                    {metadata['pid'] !== undefined && <span class="muted small"> pid {String(metadata['pid'])}</span>}
                  </th>
                  <td class="mono">{hostPort(instance.address, instance.port)}</td>
                  <td>{instance.version ?? '—'}</td>
                  <td title={instance.health.output}>
                    <HealthBadge status={instance.health.status} />
                  </td>
                  <td>
                    <time dateTime={instance.registeredAt} title={dateTime(instance.registeredAt)}>
                      {ago(instance.registeredAt)}
                    </time>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}
