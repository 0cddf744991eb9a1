import { Empty, ErrorNote, Section } from '../components';
import { OverviewServicesDocument } from '../generated/graphql';
import { ago, summarize } from '../lib/format';
import { useEventTail } from '../lib/events';
import { useQuery } from '../lib/live';
import { definePage, href, Link } from '../lib/router';

function Overview() {
  const services = useQuery(OverviewServicesDocument, { prefix: null });
  // One live subscription serves both panels: its events are the recent events, and a service event re-reads the list.
  const tail = useEventTail(undefined, {
    keep: 15,
    onEvent: (event) => {
      if (event.type.startsWith('service.')) services.refetch();
    },
  });
  const list = services.data?.services;

  return (
    <>
      <h1>Overview</h1>
      <Section title="Services">
        <ErrorNote error={services.error} what="The services could not be read" />
        {list && list.length === 0 && <Empty>No service is registered yet.</Empty>}
        {list && list.length > 0 && (
          <table class="services" aria-busy={services.loading}>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col" class="num">
                  Instances
                </th>
                <th scope="col" class="num">
                  Passing
                </th>
                <th scope="col">Versions</th>
                <th scope="col">Tags</th>
              </tr>
            </thead>
            <tbody>
              {list.map((service) => (
                <tr key={service.name} data-service={service.name}>
                  <th scope="row">
                    <Link href={href(`/services/${encodeURIComponent(service.name)}`)}>{service.name}</Link>
                  </th>
                  <td class="num">{service.instances}</td>
                  <td class="num" data-passing={service.passing}>
                    {service.passing}
                  </td>
                  <td>{service.versions.join(', ')}</td>
                  <td>{service.tags.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Recent events" actions={<Link href={href('/events')}>All events</Link>}>
        <ErrorNote error={tail.error} what="Events could not be followed" />
        {tail.events.length === 0 ? (
          <Empty>No events yet.</Empty>
        ) : (
          <ol class="event-list">
            {tail.events.map((event) => (
              <li key={event.id}>
                <time dateTime={event.timestamp} title={event.timestamp}>
                  {ago(event.timestamp)}
                </time>
                <code>{event.type}</code>
                <span class="muted">{summarize(event.data)}</span>
              </li>
            ))}
          </ol>
        )}
      </Section>
    </>
  );
}

export const overviewPage = definePage({ path: '/', title: 'Overview', nav: { label: 'Overview', order: 0 }, component: Overview });
