import { useEffect } from 'preact/hooks';
import { Empty, ErrorNote, HealthBadge } from '../components';
import { DashboardHealthHistoryDocument } from '../generated/graphql';
import { ago, dateTime } from '../lib/format';
import { useQuery } from '../lib/live';

const STATUS_COLOURS: Record<string, string> = { PASSING: 'passing', WARNING: 'warning', CRITICAL: 'critical', UNKNOWN: 'unknown' };

/**
 * One instance's health over time, from its transition history (healthHistory: the last 50 kept),
 * re-read when `revision` moves (a healthChanged for this instance). A strip shows the instance's
 * status between transitions; the list says which check moved, from what to what, and its output.
 */
export function HealthTimeline({ id, revision }: { id: string; revision: number }) {
  const history = useQuery(DashboardHealthHistoryDocument, { id });
  const { refetch } = history;
  useEffect(() => {
    if (revision > 0) refetch();
  }, [revision, refetch]);
  const transitions = history.data?.healthHistory;

  return (
    <div class="timeline">
      <ErrorNote error={history.error} what="The health history could not be read" />
      {transitions && transitions.length === 0 && <Empty>No health transition recorded yet.</Empty>}
      {transitions && transitions.length > 0 && (
        <>
          <Strip transitions={transitions} />
          <ol class="transitions" aria-label={`Health transitions of ${id}, newest first`}>
            {transitions.map((transition, index) => (
              <li key={`${transition.at}-${index}`} data-to={transition.to ?? ''}>
                <time dateTime={transition.at} title={dateTime(transition.at)}>
                  {ago(transition.at)}
                </time>
                <span class="check">{transition.checkName ?? (transition.checkId ? transition.checkId : 'maintenance')}</span>
                <span class="move">
                  {transition.from ? <HealthBadge status={transition.from} /> : <span class="muted">added</span>}
                  {' → '}
                  {transition.to ? <HealthBadge status={transition.to} /> : <span class="muted">removed</span>}
                </span>
                <span class="muted">instance {transition.instanceStatus.toLowerCase()}</span>
                {transition.output && <code class="output">{transition.output}</code>}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

/** The instance's status from the oldest kept transition to now, as coloured spans (an SVG: no inline styles). */
function Strip({ transitions }: { transitions: { at: string; instanceStatus: string }[] }) {
  const oldestFirst = [...transitions].reverse();
  const start = Date.parse(oldestFirst[0]!.at);
  const end = Date.now();
  const span = Math.max(end - start, 1);
  return (
    <svg class="strip" viewBox="0 0 1000 12" preserveAspectRatio="none" role="img" aria-label="Instance status over time, oldest on the left">
      {oldestFirst.map((transition, index) => {
        const from = Date.parse(transition.at);
        const to = index + 1 < oldestFirst.length ? Date.parse(oldestFirst[index + 1]!.at) : end;
        const x = ((from - start) / span) * 1000;
        const width = Math.max(((to - from) / span) * 1000, 2);
        return (
          <rect key={index} x={x} y={0} width={width} height={12} class={`fill-${STATUS_COLOURS[transition.instanceStatus] ?? 'unknown'}`}>
            <title>
              {transition.instanceStatus.toLowerCase()} from {dateTime(transition.at)}
            </title>
          </rect>
        );
      })}
    </svg>
  );
}
