import { Empty, ErrorNote, Section } from '../components';
import { dateTime, summarize } from '../lib/format';
import { useEventTail } from '../lib/events';
import { definePage, href, navigate, type RouteParams } from '../lib/router';

/** The filters offered: each a type prefix the server understands ("service.*"). */
const FILTERS = [
  { types: 'service.*', label: 'Services' },
  { types: 'service.health.*', label: 'Health' },
  { types: 'config.*', label: 'Configuration' },
  { types: 'component.*', label: 'Components' },
  { types: 'circuit.*', label: 'Circuit breakers' },
  { types: 'token.*', label: 'Tokens' },
] as const;

function Events({ query }: { params: RouteParams; query: URLSearchParams }) {
  const chosen = query.getAll('type');
  const tail = useEventTail(chosen.length ? chosen : undefined, { keep: 200 });

  const toggle = (types: string, on: boolean) => {
    const next = on ? [...chosen, types] : chosen.filter((type) => type !== types);
    const search = new URLSearchParams();
    for (const type of next) search.append('type', type);
    navigate(`${href('/events')}${next.length ? `?${search}` : ''}`, { replace: true });
  };

  return (
    <>
      <h1>Events</h1>
      <Section title="Live tail">
        <fieldset class="filters">
          <legend>Show only</legend>
          {FILTERS.map((filter) => (
            <label key={filter.types}>
              <input type="checkbox" checked={chosen.includes(filter.types)} onChange={(event) => toggle(filter.types, event.currentTarget.checked)} />
              {filter.label} <code>{filter.types}</code>
            </label>
          ))}
        </fieldset>
        <ErrorNote error={tail.error} what="Events could not be followed" />
        <p class="muted" aria-live="polite">
          {tail.lastId === undefined ? 'Starting…' : `Live after event ${tail.lastId}; a lost connection resumes from there.`}
        </p>
        {tail.events.length === 0 ? (
          <Empty>No events {chosen.length ? 'of these types ' : ''}yet.</Empty>
        ) : (
          <table class="events">
            <thead>
              <tr>
                <th scope="col" class="num">
                  Id
                </th>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">Source</th>
                <th scope="col">By</th>
                <th scope="col">Data</th>
              </tr>
            </thead>
            <tbody>
              {tail.events.map((event) => (
                <tr key={event.id} data-event-type={event.type}>
                  <td class="num">{event.id}</td>
                  <td>
                    <time dateTime={event.timestamp}>{dateTime(event.timestamp)}</time>
                  </td>
                  <td>
                    <code>{event.type}</code>
                  </td>
                  <td>{event.source}</td>
                  <td>{event.actor?.name ?? ''}</td>
                  <td class="data" title={JSON.stringify(event.data)}>
                    {summarize(event.data)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

export const eventsPage = definePage({ path: '/events', title: 'Events', nav: { label: 'Events', order: 90 }, component: Events });
