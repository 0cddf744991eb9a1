import { Fragment } from 'preact';
import { Badge, Empty, HealthBadge } from '../components';
import type { DashboardCheckFragment, DashboardInstanceFragment } from '../generated/graphql';
import { ago, dateTime, hostPort } from '../lib/format';
import { HealthTimeline } from './timeline';
import { CircuitBadge } from './traffic';

/** Metadata values as the filters and columns show them (metadata is a string-to-string map). */
export function metadataOf(instance: DashboardInstanceFragment): Record<string, string> {
  const metadata = instance.metadata;
  if (typeof metadata !== 'object' || metadata === null) return {};
  return Object.fromEntries(Object.entries(metadata as Record<string, unknown>).map(([key, value]) => [key, String(value)]));
}

/** Every metadata key of these instances with its distinct values, by key. */
export function metadataKeys(instances: DashboardInstanceFragment[]): Map<string, string[]> {
  const keys = new Map<string, Set<string>>();
  for (const instance of instances) {
    for (const [key, value] of Object.entries(metadataOf(instance))) {
      if (!keys.has(key)) keys.set(key, new Set());
      keys.get(key)!.add(value);
    }
  }
  return new Map([...keys.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, values]) => [key, [...values].sort()]));
}

/** The instance table: one row per instance, metadata as columns; each row opens to its checks and health timeline. */
export function InstanceTable({
  instances,
  columns,
  revisions,
}: {
  instances: DashboardInstanceFragment[];
  columns: string[];
  revisions: Map<string, number>;
}) {
  if (instances.length === 0) return <Empty>No instance matches these filters.</Empty>;
  return (
    <div class="scroll">
      <table class="instances">
        <thead>
          <tr>
            <th scope="col">Instance</th>
            <th scope="col">Address</th>
            <th scope="col">Version</th>
            <th scope="col">Health</th>
            <th scope="col" class="num">
              Weight
            </th>
            <th scope="col" class="num">
              Priority
            </th>
            <th scope="col">Circuit</th>
            <th scope="col">Registered</th>
            {columns.map((key) => (
              <th scope="col" key={key} class="meta">
                {key}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {instances.map((instance) => {
            const metadata = metadataOf(instance);
            return (
              <Fragment key={instance.id}>
                <tr data-instance={instance.id}>
                  <th scope="row">
                    {instance.id}
                    {instance.source && (
                      <>
                        {' '}
                        <Badge tone="info" title={`Followed from source ${instance.source} (SWITCHBOARD_SOURCES): read-only here`}>
                          from {instance.source}
                        </Badge>
                      </>
                    )}
                    {instance.maintenance && (
                      <>
                        {' '}
                        <Badge tone="warn" title={instance.maintenance.reason ?? 'In maintenance'}>
                          maintenance
                        </Badge>
                      </>
                    )}
                  </th>
                  <td class="mono">{hostPort(instance.address, instance.port)}</td>
                  <td>{instance.version ?? <span class="muted">none</span>}</td>
                  <td data-health={instance.health.status}>
                    <HealthBadge status={instance.health.status} />
                  </td>
                  <td class="num">{instance.weight}</td>
                  <td class="num">{instance.priority}</td>
                  <td>
                    <CircuitBadge state={instance.circuitBreaker.state} />
                    {instance.circuitBreaker.calls > 0 && (
                      <span class="muted small">
                        {' '}
                        {instance.circuitBreaker.failures}/{instance.circuitBreaker.calls} failed
                      </span>
                    )}
                  </td>
                  <td>
                    <time dateTime={instance.registeredAt} title={dateTime(instance.registeredAt)}>
                      {ago(instance.registeredAt)}
                    </time>
                  </td>
                  {columns.map((key) => (
                    <td key={key}>{metadata[key] ?? <span class="muted">—</span>}</td>
                  ))}
                </tr>
                <tr class="details-row">
                  <td colSpan={8 + columns.length}>
                    <details open={instances.length <= 3}>
                      <summary>
                        Checks ({instance.checks.length}) and health timeline
                        {instance.tags.length > 0 && <span class="muted"> · tags: {instance.tags.join(', ')}</span>}
                        {instance.lastHeartbeatAt && <span class="muted"> · last heartbeat {ago(instance.lastHeartbeatAt)}</span>}
                      </summary>
                      <div class="instance-details">
                        <div>
                          <h3>Checks</h3>
                          <Checks checks={instance.checks} />
                        </div>
                        <div>
                          <h3>Health timeline</h3>
                          <HealthTimeline id={instance.id} revision={revisions.get(instance.id) ?? 0} />
                        </div>
                      </div>
                    </details>
                  </td>
                </tr>
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function target(check: DashboardCheckFragment): string {
  return check.http ?? check.tcp ?? check.grpc ?? check.script ?? (check.ttl ? `TTL ${check.ttl}` : '');
}

function Checks({ checks }: { checks: DashboardCheckFragment[] }) {
  if (checks.length === 0) return <Empty>No checks: the instance counts as passing.</Empty>;
  return (
    <table class="checks">
      <thead>
        <tr>
          <th scope="col">Check</th>
          <th scope="col">Status</th>
          <th scope="col">Output</th>
          <th scope="col">Last run</th>
          <th scope="col" class="num">
            Runs / failed
          </th>
        </tr>
      </thead>
      <tbody>
        {checks.map((check) => (
          <tr key={check.id} data-check={check.id}>
            <th scope="row">
              {check.name}
              <div class="muted small mono">
                {check.kind.toLowerCase()} {target(check)}
                {check.interval && ` every ${check.interval}`}
              </div>
            </th>
            <td>
              <HealthBadge status={check.status} />
            </td>
            <td>
              <code class="output">{check.output || '—'}</code>
            </td>
            <td>
              <time dateTime={check.lastCheck ?? undefined} title={dateTime(check.lastCheck)}>
                {ago(check.lastCheck)}
              </time>
            </td>
            <td class="num">
              {check.checkCount} / {check.failureCount}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
