import { createHash } from 'node:crypto';
import { badInput, formatDuration } from '@switchboard/contracts';
import { toMilliseconds, type HealthCheck, type ServiceDefinition } from '@switchboard/sdk';
import { chunkByBytes, endpointsChunkKey, MAX_META_PAIRS, MAX_META_VALUE_BYTES, MetaKey, RESERVED_META_PREFIX } from './meta.js';

/**
 * Switchboard's definitions as Consul's request bodies: AgentServiceRegistration for
 * /v1/agent/service/register, CheckDefinition for /v1/agent/check/register. Keys are written in Consul's
 * own casing (ID, Name, CheckID, HTTP, GRPCUseTLS…), as its Go structs and its documentation spell them.
 */

export interface CheckDefaults {
  defaultTtlMs: number | undefined;
  defaultIntervalMs: number;
  defaultTimeoutMs: number;
}

export interface ConsulRegistration {
  body: Record<string, unknown>;
  /** The TTL check `renewService` passes: the lease's, else the definition's own TTL check; none without either. */
  ttlCheckId: string | undefined;
}

/** Consul reaps a service whose check stays critical at the soonest a minute after (its reaper's floor). */
const MIN_DEREGISTER_MS = 60_000;

/** The check id Consul itself gives a service's check: renewing it is what `consul services` users expect. */
export const leaseCheckId = (serviceId: string) => `service:${serviceId}`;

export function toRegistration(definition: ServiceDefinition, defaults: CheckDefaults, now: Date): ConsulRegistration {
  const id = definition.id ?? definition.name;
  const leaseMs = toMilliseconds(definition.ttl, 'ttl') ?? (definition.healthCheck ? undefined : defaults.defaultTtlMs);
  const checks: Record<string, unknown>[] = [];
  let ttlCheckId: string | undefined;
  if (leaseMs != null) {
    // The lease: registering is its first renewal (so it starts passing), and a lease that lapsed and stays
    // lapsed takes the instance away, as an expired lease does in Switchboard.
    ttlCheckId = leaseCheckId(id);
    checks.push({
      CheckID: ttlCheckId,
      Name: `Service '${definition.name}' lease`,
      TTL: formatDuration(leaseMs),
      Status: 'passing',
      DeregisterCriticalServiceAfter: formatDuration(Math.max(leaseMs, MIN_DEREGISTER_MS)),
    });
  }
  if (definition.healthCheck) {
    const checkId = definition.healthCheck.id ?? (leaseMs != null ? `service:${id}:check` : leaseCheckId(id));
    checks.push(toCheckBody(definition.healthCheck, { id: checkId, name: `Service '${definition.name}' check` }, 'CheckID', defaults));
    if (definition.healthCheck.ttl != null) ttlCheckId ??= checkId;
  }
  const weight = definition.weight ?? undefined;
  return {
    body: {
      ID: id,
      Name: definition.name,
      ...(definition.tags ? { Tags: [...definition.tags] } : {}),
      ...(definition.address ? { Address: definition.address } : {}),
      ...(definition.port != null ? { Port: definition.port } : {}),
      Meta: toMeta(definition, leaseMs, now),
      // Consul refuses a passing weight below 1; the weight itself (0 included) is in Meta.
      ...(weight !== undefined ? { Weights: { Passing: Math.max(weight, 1), Warning: 1 } } : {}),
      // One check as `Check`, several as `Checks`, as Consul's clients send them.
      ...(checks.length === 1 ? { Check: checks[0] } : checks.length > 1 ? { Checks: checks } : {}),
    },
    ttlCheckId,
  };
}

/** A standalone check (agent/check/register) of the instance `serviceId`. */
export function toCheckRegistration(serviceId: string, serviceName: string, check: HealthCheck, defaults: CheckDefaults): Record<string, unknown> {
  return {
    ...toCheckBody(check, { id: check.id ?? defaultCheckId(serviceId, check), name: `Service '${serviceName}' check` }, 'ID', defaults),
    ServiceID: serviceId,
  };
}

/**
 * A check without an id gets one from its target, so registering the same check again updates it rather than
 * adding a second, and two checks of one kind do not replace each other: "service:web-1:http:3f2a9c1e".
 */
export function defaultCheckId(serviceId: string, check: HealthCheck): string {
  const kind = check.http ? 'http' : check.tcp ? 'tcp' : check.grpc ? 'grpc' : check.script ? 'script' : 'ttl';
  const target = JSON.stringify([check.http, check.method, check.tcp, check.grpc, check.script, check.args, check.ttl]);
  return `service:${serviceId}:${kind}:${createHash('sha256').update(target).digest('hex').slice(0, 8)}`;
}

/** Exactly one of http, tcp, grpc, script or ttl: the contracts' schema leaves that to the server, Consul needs it known here. */
export function validateCheckKind(check: HealthCheck, field = 'healthCheck'): void {
  const kinds = (['http', 'tcp', 'grpc', 'script', 'ttl'] as const).filter((kind) => check[kind] != null && check[kind] !== '');
  if (kinds.length === 1) return;
  const message = kinds.length === 0 ? 'needs one of http, tcp, grpc, script or ttl' : `must be one kind of check, not ${kinds.join(' and ')}`;
  throw badInput(`Invalid health check: it ${message}.`, { issues: [{ field, message }] });
}

/** Consul's CheckType; `idField` is CheckID inside a service registration, ID in a check registration. */
function toCheckBody(check: HealthCheck, names: { id: string; name: string }, idField: 'CheckID' | 'ID', defaults: CheckDefaults): Record<string, unknown> {
  const ms = (value: HealthCheck['interval'], field: string) => toMilliseconds(value, field) ?? undefined;
  const interval = formatDuration(ms(check.interval, 'interval') ?? defaults.defaultIntervalMs);
  const timeout = formatDuration(ms(check.timeout, 'timeout') ?? defaults.defaultTimeoutMs);
  const deregister = ms(check.deregisterCriticalServiceAfter, 'deregisterCriticalServiceAfter');
  const common = {
    [idField]: names.id,
    Name: check.name ?? names.name,
    ...(check.status ? { Status: check.status.toLowerCase() } : {}),
    ...(check.successBeforePassing != null ? { SuccessBeforePassing: check.successBeforePassing } : {}),
    ...(check.failuresBeforeCritical != null ? { FailuresBeforeCritical: check.failuresBeforeCritical } : {}),
    ...(deregister !== undefined ? { DeregisterCriticalServiceAfter: formatDuration(deregister) } : {}),
  };
  if (check.http) {
    return {
      ...common,
      HTTP: check.http,
      ...(check.method ? { Method: check.method.toUpperCase() } : {}),
      // Consul's Header is a name → list of values.
      ...(check.headers ? { Header: Object.fromEntries(Object.entries(check.headers).map(([name, value]) => [name, [value]])) } : {}),
      ...(check.tlsSkipVerify != null ? { TLSSkipVerify: check.tlsSkipVerify } : {}),
      Interval: interval,
      Timeout: timeout,
    };
  }
  if (check.tcp) return { ...common, TCP: check.tcp, Interval: interval, Timeout: timeout };
  if (check.grpc)
    return { ...common, GRPC: check.grpc, ...(check.grpcUseTls != null ? { GRPCUseTLS: check.grpcUseTls } : {}), Interval: interval, Timeout: timeout };
  if (check.script) return { ...common, Args: [check.script, ...(check.args ?? [])], Interval: interval, Timeout: timeout };
  return { ...common, TTL: formatDuration(ms(check.ttl, 'ttl')!) };
}

/** The caller's metadata and ours (see meta.ts); refused before sending when it would not fit Consul's Meta. */
function toMeta(definition: ServiceDefinition, leaseMs: number | undefined, now: Date): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [key, value] of Object.entries(definition.metadata ?? {})) {
    if (key.startsWith(RESERVED_META_PREFIX)) {
      throw badInput(`metadata key "${key.slice(0, 64)}" is reserved: keys starting with "${RESERVED_META_PREFIX}" hold what Consul has no field for.`, {
        issues: [{ field: 'metadata', message: `must not use keys starting with "${RESERVED_META_PREFIX}"` }],
      });
    }
    meta[key] = value;
  }
  if (definition.version != null) meta[MetaKey.version] = definition.version;
  if (definition.weight != null) meta[MetaKey.weight] = String(definition.weight);
  if (definition.priority != null) meta[MetaKey.priority] = String(definition.priority);
  if (definition.protocols?.length) meta[MetaKey.protocols] = definition.protocols.map((protocol) => protocol.toLowerCase()).join(',');
  if (leaseMs != null) meta[MetaKey.ttl] = formatDuration(leaseMs);
  meta[MetaKey.registeredAt] = now.toISOString();
  if (definition.endpoints?.length) {
    const endpoints = definition.endpoints.map(({ path, method, description }) => ({ path, method: method.toUpperCase(), description: description ?? null }));
    chunkByBytes(JSON.stringify(endpoints), MAX_META_VALUE_BYTES).forEach((chunk, n) => (meta[endpointsChunkKey(n)] = chunk));
  }
  const pairs = Object.keys(meta).length;
  if (pairs > MAX_META_PAIRS) {
    const message = `must fit Consul's Meta with what Switchboard keeps there (version, weight, endpoints…): ${pairs} pairs of at most ${MAX_META_PAIRS}; fewer metadata keys or shorter endpoint descriptions`;
    throw badInput(`The definition does not fit: it ${message}.`, { issues: [{ field: 'metadata', message }] });
  }
  return meta;
}
