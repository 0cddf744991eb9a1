import { useRef } from 'preact/hooks';
import { Badge, Empty, ErrorNote, Section } from './components';
import { DashboardAlertChangedDocument, DashboardFiringAlertsDocument } from './generated/graphql';
import { ago, dateTime } from './lib/format';
import { useQuery, useSubscription } from './lib/live';

/** The alerts firing now (alerts(state: FIRING)), re-read on every alertChanged after the first read. */
export function FiringAlerts() {
  const alerts = useQuery(DashboardFiringAlertsDocument, {});
  const start = useRef<string | undefined>(undefined);
  start.current ??= alerts.data?.latestEventId;
  const liveError = useSubscription(DashboardAlertChangedDocument, start.current === undefined ? undefined : { after: start.current }, () => alerts.refetch());
  const firing = alerts.data?.alerts;

  return (
    <Section title={firing ? `Firing alerts (${firing.length})` : 'Firing alerts'}>
      <ErrorNote error={alerts.error ?? liveError} what="Alerts could not be read" />
      {firing && firing.length === 0 && <Empty>No alert is firing.</Empty>}
      {firing && firing.length > 0 && (
        <ul class="alerts">
          {firing.map((alert) => {
            const annotations = (alert.annotations ?? {}) as Record<string, unknown>;
            const labels = Object.entries((alert.labels ?? {}) as Record<string, unknown>);
            return (
              <li key={alert.id} data-alert={alert.rule?.name ?? alert.id}>
                <div>
                  <Badge tone="bad">firing</Badge> <strong>{alert.rule?.name ?? alert.id}</strong>
                  {alert.silenced && (
                    <>
                      {' '}
                      <Badge tone="neutral" title="A silence covers it: its transitions send no webhook">
                        silenced
                      </Badge>
                    </>
                  )}{' '}
                  <time class="muted small" dateTime={alert.startsAt ?? undefined} title={dateTime(alert.startsAt)}>
                    since {ago(alert.startsAt)}
                  </time>
                </div>
                {typeof annotations['summary'] === 'string' && <div>{annotations['summary']}</div>}
                {labels.length > 0 && <div class="muted small mono">{labels.map(([name, value]) => `${name}=${String(value)}`).join(' ')}</div>}
              </li>
            );
          })}
        </ul>
      )}
    </Section>
  );
}
