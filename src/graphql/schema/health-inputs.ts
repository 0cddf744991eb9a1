import type { HealthCheckInput as DomainCheckInput } from '@switchboard/contracts';
import { builder } from '../builder.js';

/** Shared by the registration and health schema files. */
export const HealthStatusTypeEnum = builder.enumType('HealthStatusType', {
  values: ['PASSING', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const,
});

export const HealthCheckInput = builder.inputType('HealthCheckInput', {
  description: 'Exactly one of http, tcp, grpc, script or ttl.',
  fields: (t) => ({
    id: t.id({ description: 'Defaults to one derived from the instance and target: the same check registered again is updated.' }),
    name: t.string(),
    http: t.string({ description: 'URL: 2xx passing, 429 warning, anything else critical.' }),
    method: t.string({ description: 'Defaults to GET.' }),
    headers: t.field({ type: 'JSON', description: 'String-to-string map of request headers.' }),
    tlsSkipVerify: t.boolean(),
    tcp: t.string({ description: '"host:port": a completed connect is passing.' }),
    grpc: t.string({ description: '"host:port" or "host:port/service": grpc.health.v1 SERVING is passing.' }),
    grpcUseTls: t.boolean(),
    script: t.string({ description: 'A command (no shell): exit 0 passing, 1 warning, else critical. Needs SWITCHBOARD_ENABLE_SCRIPT_CHECKS.' }),
    args: t.stringList(),
    ttl: t.field({ type: 'Duration', description: 'A TTL check: critical unless updated (updateTtlCheck, heartbeat) within this.' }),
    interval: t.field({ type: 'Duration', description: 'Defaults to 10s; at least 1s.' }),
    timeout: t.field({ type: 'Duration', description: 'Defaults to 10s (30s for scripts).' }),
    successBeforePassing: t.int({ description: 'Consecutive passes needed to turn passing (default 0: at once).' }),
    failuresBeforeCritical: t.int({ description: 'Consecutive failures needed to turn warning/critical (default 0: at once).' }),
    deregisterCriticalServiceAfter: t.field({ type: 'Duration', description: 'Remove the instance once this check has been critical this long.' }),
    status: t.field({
      type: HealthStatusTypeEnum,
      description:
        "The status a new check starts with until its first run (Consul's Status): default CRITICAL, so a new instance is not discovered as passing before a check passed. PASSING, WARNING or CRITICAL; an existing check keeps its status.",
    }),
  }),
});

/** GraphQL names durations as the API does; the domain counts milliseconds. */
export function toCheckInput(input: typeof HealthCheckInput.$inferInput): DomainCheckInput {
  const { ttl, interval, timeout, deregisterCriticalServiceAfter, status, ...rest } = input;
  return {
    ...rest,
    ttlMs: ttl,
    intervalMs: interval,
    timeoutMs: timeout,
    deregisterCriticalAfterMs: deregisterCriticalServiceAfter,
    // The enum also has UNKNOWN, which no check starts as: the contracts' schema refuses it, naming the field.
    status: status as DomainCheckInput['status'],
  };
}
