import type { HealthCheckInput, ServiceDefinitionInput } from '@switchboard/contracts';
import { ConsulError } from './errors.js';
import { JsonFields } from './json.js';

/**
 * Consul's registration bodies (AgentServiceRegistration, CheckDefinition) as Switchboard's
 * inputs. Validation proper (names, ports, URLs, limits) is the domain's, which answers 400
 * with the field at fault; here only what Consul's shape decides: which kind a check is,
 * and the defaults Consul gives (ids, names).
 */

/** Check kinds Consul has and Switchboard does not run. */
const UNSUPPORTED_KINDS: readonly [field: string, kind: string][] = [
  ['DockerContainerID', 'Docker'],
  ['H2PING', 'HTTP/2 ping'],
  ['UDP', 'UDP'],
  ['AliasService', 'alias'],
  ['AliasNode', 'alias'],
  ['OSService', 'OS service'],
];

export function toServiceDefinition(body: JsonFields, replaceExistingChecks: boolean, callerAddress: string | undefined): ServiceDefinitionInput {
  const name = body.nonEmpty('Name');
  if (name === undefined) throw new ConsulError(400, 'Missing service name');
  const kind = body.nonEmpty('Kind');
  if (kind !== undefined)
    throw new ConsulError(
      400,
      `Service kind "${kind.slice(0, 40)}" is not supported: Switchboard registers typical services only (no Connect proxies or gateways).`,
    );
  for (const field of ['Connect', 'Proxy']) {
    const value = body.get(field);
    if (value !== undefined && (typeof value !== 'object' || Object.keys(value as object).length > 0)) {
      throw new ConsulError(400, `${field} is not supported: Switchboard has no service mesh.`);
    }
  }
  const id = body.nonEmpty('ID') ?? name;
  const port = body.integer('Port');
  const single = body.object('Check');
  const several = body.list('Checks') ?? [];
  // Consul's default check ids: "service:<id>" for Check, "service:<id>:<n>" (from 1) for each of Checks.
  const checks = [
    ...(single ? [toCheckInput(single, { id: `service:${id}`, name: `Service '${name}' check` })] : []),
    ...several.map((check, index) => toCheckInput(check, { id: `service:${id}:${index + 1}`, name: `Service '${name}' check` })),
  ];
  return {
    id,
    name,
    address: body.nonEmpty('Address') ?? callerAddress,
    // Port 0 is Consul's "none".
    port: port === 0 ? null : port,
    tags: body.strings('Tags'),
    metadata: body.get('Meta'),
    weight: body.object('Weights')?.integer('Passing'),
    healthChecks: checks,
    replaceExistingChecks,
  };
}

/** A standalone check registration (agent/check/register): it must name the instance it checks. */
export function toStandaloneCheck(body: JsonFields): { serviceId: string; check: HealthCheckInput } {
  const name = body.nonEmpty('Name');
  if (name === undefined) throw new ConsulError(400, 'Missing check name');
  const serviceId = body.nonEmpty('ServiceID');
  if (serviceId === undefined) {
    throw new ConsulError(400, 'Missing ServiceID: Switchboard checks belong to a service instance (node-level checks are not supported).');
  }
  // Consul: the check id defaults to its name.
  return { serviceId, check: toCheckInput(body, { id: name, name }) };
}

/** Consul's CheckType as a Switchboard check; 400 for a kind Switchboard does not run, or none. */
export function toCheckInput(check: JsonFields, defaults: { id: string; name: string }): HealthCheckInput {
  for (const [field, kind] of UNSUPPORTED_KINDS) {
    if (check.has(field)) throw new ConsulError(400, `Invalid check: ${kind} checks (${field}) are not supported; use HTTP, TCP, GRPC, TTL or Args.`);
  }
  const common = {
    id: check.nonEmpty('CheckID', 'ID') ?? defaults.id,
    name: check.nonEmpty('Name') ?? defaults.name,
    timeoutMs: check.duration('Timeout'),
    successBeforePassing: check.integer('SuccessBeforePassing'),
    failuresBeforeCritical: check.integer('FailuresBeforeCritical'),
    deregisterCriticalAfterMs: check.duration('DeregisterCriticalServiceAfter'),
    status: initialStatus(check),
  };
  const intervalMs = check.duration('Interval');
  const http = check.nonEmpty('HTTP');
  if (http !== undefined) {
    return { ...common, intervalMs, http, method: check.nonEmpty('Method'), headers: headers(check), tlsSkipVerify: check.boolean('TLSSkipVerify') };
  }
  const tcp = check.nonEmpty('TCP');
  if (tcp !== undefined) return { ...common, intervalMs, tcp };
  const grpc = check.nonEmpty('GRPC');
  if (grpc !== undefined) return { ...common, intervalMs, grpc, grpcUseTls: check.boolean('GRPCUseTLS') };
  const ttlMs = check.duration('TTL');
  if (ttlMs !== undefined) return { ...common, ttlMs };
  const args = check.strings('Args', 'ScriptArgs');
  if (args !== undefined && args.length > 0) return { ...common, intervalMs, script: args[0], args: args.slice(1) };
  // The old `Script` is a shell command line, and Consul runs it through a shell.
  const script = check.nonEmpty('Script');
  if (script !== undefined) return { ...common, intervalMs, script: '/bin/sh', args: ['-c', script] };
  throw new ConsulError(400, 'Invalid check: it needs one of HTTP, TCP, GRPC, TTL or Args.');
}

/**
 * Consul's `Status`: the status a new check starts with ("passing", "warning" or "critical"; Consul's
 * default, and Switchboard's, is critical until the check passes). Anything else is refused as Consul does.
 */
function initialStatus(check: JsonFields): 'PASSING' | 'WARNING' | 'CRITICAL' | undefined {
  const status = check.nonEmpty('Status');
  if (status === undefined) return undefined;
  if (status !== 'passing' && status !== 'warning' && status !== 'critical') {
    throw new ConsulError(400, "Status for checks must 'passing', 'warning', 'critical'");
  }
  return status.toUpperCase() as 'PASSING' | 'WARNING' | 'CRITICAL';
}

/** Consul's Header is name → list of values; Switchboard sends one value per name, so several are joined as HTTP joins them. */
function headers(check: JsonFields): Record<string, string> | undefined {
  const value = check.get('Header');
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConsulError(400, `Request decode failed: ${check.path}.Header must be an object of lists of strings.`);
  const joined: Record<string, string> = {};
  for (const [name, values] of Object.entries(value as Record<string, unknown>)) {
    if (!Array.isArray(values) || values.some((item) => typeof item !== 'string')) {
      throw new ConsulError(400, `Request decode failed: ${check.path}.Header.${name.slice(0, 40)} must be a list of strings.`);
    }
    joined[name] = values.join(', ');
  }
  return joined;
}
