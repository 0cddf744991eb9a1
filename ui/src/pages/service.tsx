import { Empty, ErrorNote, HealthBadge, Section } from '../components';
import { DashboardServiceDocument } from '../generated/graphql';
import { ago, hostPort } from '../lib/format';
import { useQuery } from '../lib/live';
import { definePage, type RouteParams } from '../lib/router';

function Service({ params }: { params: RouteParams; query: URLSearchParams }) {
  const name = params['name']!;
  const service = useQuery(DashboardServiceDocument, { name, strategy: null, hashKey: null });
  const instances = service.data?.discoverServices;
  return (
    <>
      <h1>{name}</h1>
      <Section title="Instances">
        <ErrorNote error={service.error} what="The service could not be read" />
        {instances && instances.length === 0 && <Empty>No instance of {name} is registered.</Empty>}
        {instances && instances.length > 0 && (
          <table class="instances">
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Address</th>
                <th scope="col">Health</th>
                <th scope="col">Registered</th>
              </tr>
            </thead>
            <tbody>
              {instances.map((instance) => (
                <tr key={instance.id} data-instance={instance.id}>
                  <th scope="row">{instance.id}</th>
                  <td>{hostPort(instance.address, instance.port)}</td>
                  <td>
                    <HealthBadge status={instance.health.status} />
                  </td>
                  <td>{ago(instance.registeredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

export const servicePage = definePage({ path: '/services/:name', title: (params) => params['name'] ?? 'Service', component: Service });
