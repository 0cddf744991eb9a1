import { useState } from 'preact/hooks';
import { Empty, ErrorNote, Section, StateBadge } from '../components';
import { DashboardRegistryHealthDocument, type ServiceState } from '../generated/graphql';
import { ago, dateTime, summarize } from '../lib/format';
import { useEventTail } from '../lib/events';
import { useQuery } from '../lib/live';
import { useServiceStates } from '../lib/service-states';
import { FiringAlerts } from '../firing-alerts';
import { RegistryHealthPanel } from '../registry-health';
import { definePage, href, Link } from '../lib/router';
import { STATES } from '../lib/states';

function Overview() {
  const { report, error } = useServiceStates(null);
  const registryHealth = useQuery(DashboardRegistryHealthDocument, {});
  // One subscription serves two panels: its events are the recent events, and one about the registry's own
  // servers or workers (registered as switchboard, switchboard-worker) re-reads their health.
  const tail = useEventTail(undefined, {
    keep: 12,
    onEvent: (event) => {
      const data = event.data as { service_name?: unknown; name?: unknown } | null;
      const service = data?.service_name ?? data?.name;
      if (typeof service === 'string' && service.startsWith('switchboard')) registryHealth.refetch();
    },
  });
  const [only, setOnly] = useState<ServiceState | undefined>(undefined);
  const services = report?.services.filter((service) => only === undefined || service.state === only);

  return (
    <>
      <h1>Overview</h1>
      <ErrorNote error={error} what="The service states could not be read" />
      <section class="state-cards" aria-label="Services by state">
        {STATES.map(({ state, label, tone, definition }) => (
          <button
            key={state}
            type="button"
            class={`state-card tone-${tone}`}
            title={definition}
            aria-pressed={only === state}
            aria-describedby={`state-${state}`}
            data-state={state}
            onClick={() => setOnly(only === state ? undefined : state)}
          >
            <span class="state-label">{label}</span>
            <span class="state-count" data-count>
              {report ? report.counts[state.toLowerCase() as 'active'] : '–'}
            </span>
            <span class="state-help" id={`state-${state}`}>
              {definition}
            </span>
          </button>
        ))}
      </section>
      {report && (
        <p class="muted small">
          Changes count for {report.window}; computed {dateTime(report.computedAt)}. Choose a state to list only its services.
        </p>
      )}
      <FiringAlerts />
      <Section
        title={only ? `Services: ${STATES.find((entry) => entry.state === only)!.label.toLowerCase()}` : 'Services'}
        actions={
          only && (
            <button type="button" class="quiet" onClick={() => setOnly(undefined)}>
              Show all
            </button>
          )
        }
      >
        {services && services.length === 0 && <Empty>{only ? 'No service is in this state.' : 'No service is registered yet.'}</Empty>}
        {services && services.length > 0 && (
          <div class="scroll">
            <table class="services">
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">
                    Passing
                  </th>
                  <th scope="col" class="num">
                    Warning
                  </th>
                  <th scope="col" class="num">
                    Critical
                  </th>
                  <th scope="col" class="num">
                    Instances
                  </th>
                  <th scope="col">Policy</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {services.map((service) => (
                  <tr key={service.name} data-service={service.name} data-state={service.state}>
                    <th scope="row">
                      <Link href={href(`/services/${encodeURIComponent(service.name)}`)}>{service.name}</Link>
                    </th>
                    <td>
                      <StateBadge state={service.state} />
                    </td>
                    <td class="num" data-passing={service.passing}>
                      {service.passing}
                    </td>
                    <td class="num">{service.warning || ''}</td>
                    <td class="num">{service.critical || ''}</td>
                    <td class="num">{service.instances}</td>
                    <td class="muted">{policy(service.minInstances, service.maxInstances)}</td>
                    <td class="reasons">
                      {service.reasons.map((reason) => (
                        <div key={reason}>{reason}</div>
                      ))}
                      {service.until && <div class="muted small">until {dateTime(service.until)}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <div class="grid">
        <Section title="Recent events" actions={<Link href={href('/events')}>All events</Link>}>
          <ErrorNote error={tail.error} what="Events could not be followed" />
          {tail.events.length === 0 ? (
            <Empty>No events yet.</Empty>
          ) : (
            <ol class="event-list">
              {tail.events.map((event) => (
                <li key={event.id}>
                  <time dateTime={event.timestamp} title={dateTime(event.timestamp)}>
                    {ago(event.timestamp)}
                  </time>
                  <code>{event.type}</code>
                  <span class="muted">{summarize(event.data)}</span>
                </li>
              ))}
            </ol>
          )}
        </Section>
        <RegistryHealthPanel health={registryHealth} />
      </div>
    </>
  );
}

function policy(min: number | null | undefined, max: number | null | undefined): string {
  if (min == null && max == null) return '';
  if (min != null && max != null) return `${min}–${max}`;
  return min != null ? `≥ ${min}` : `≤ ${max}`;
}

export const overviewPage = definePage({ path: '/', title: 'Overview', nav: { label: 'Overview', order: 0 }, component: Overview });
