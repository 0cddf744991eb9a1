import { parseDuration } from '@switchboard/contracts';
import type { Endpoint, HealthStatus, HealthStatusType, ServiceInstance } from '@switchboard/sdk';
import semver from 'semver';
import { endpointsChunkKey, MetaKey, RESERVED_META_PREFIX } from './meta.js';

/**
 * Consul's answers as Switchboard's instances. A health entry (/v1/health/service/:name) is a Node, a
 * Service (AgentService) and Checks; what Consul has no field for comes from the Meta this package writes
 * (meta.ts). Anything malformed there is warned of and left at its default: the instance itself is real, and
 * discovery keeps it. An entry that is not an instance at all is skipped.
 */

type Warn = (message: string) => void;

/** What an instance whose registration said nothing of it shows (Consul keeps no registration time). */
const UNKNOWN_TIME = new Date(0).toISOString();

const STATUS: Record<string, Exclude<HealthStatusType, 'UNKNOWN'>> = { passing: 'PASSING', warning: 'WARNING', critical: 'CRITICAL' };
const SEVERITY: Record<HealthStatusType, number> = { PASSING: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3 };

export interface ConsulCheck {
  CheckID: string;
  Name: string;
  Status: string;
  Output: string;
  Notes: string;
  ServiceID: string;
}

/** The instances of a /v1/health/service answer, by id. Throws when the answer is not a list at all. */
export function instancesOfHealth(body: unknown, warn: Warn): ServiceInstance[] {
  if (!Array.isArray(body)) throw new Error('the answer is not a list of health entries');
  const instances: ServiceInstance[] = [];
  for (const entry of body) {
    if (!isRecord(entry) || !isRecord(entry['Service'])) {
      warn('skipped a health entry without a Service');
      continue;
    }
    const node = isRecord(entry['Node']) ? entry['Node'] : {};
    const instance = toInstance(entry['Service'], checksOf(entry['Checks']), text(node['Address']), warn);
    if (instance) instances.push(instance);
  }
  return instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** An AgentService (agent/service/:id, or a health entry's Service) with its checks; undefined when it has no ID or name. */
export function toInstance(service: Record<string, unknown>, checks: readonly ConsulCheck[], nodeAddress: string, warn: Warn): ServiceInstance | undefined {
  const id = text(service['ID']);
  const name = text(service['Service']);
  if (!id || !name) {
    warn('skipped a service without an ID or a name');
    return undefined;
  }
  const meta = stringMap(service['Meta']);
  const fault = (key: string, why: string) => warn(`instance "${id}" of "${name}": Meta "${key}" is not what Switchboard writes (${why}); ignored`);
  const port = typeof service['Port'] === 'number' && service['Port'] > 0 ? service['Port'] : null;
  const registeredAt = timeOf(meta, fault);
  const health = healthOf(checks);
  return {
    id,
    name,
    version: versionOf(meta, fault),
    address: text(service['Address']) || nodeAddress,
    port,
    tags: Array.isArray(service['Tags']) ? service['Tags'].filter((tag): tag is string => typeof tag === 'string') : [],
    metadata: Object.fromEntries(Object.entries(meta).filter(([key]) => !key.startsWith(RESERVED_META_PREFIX))),
    endpoints: endpointsOf(meta, fault),
    protocols: protocolsOf(meta, fault),
    weight: integerOf(meta, MetaKey.weight, fault) ?? passingWeight(service['Weights']) ?? 1,
    priority: integerOf(meta, MetaKey.priority, fault) ?? 0,
    ttl: ttlOf(meta, fault),
    registeredAt,
    updatedAt: registeredAt,
    lastHeartbeatAt: null,
    expiresAt: null,
    health: { status: health.status, output: health.output },
  };
}

/** Consul's HealthCheck objects, keeping those that have an id and a status. */
export function checksOf(value: unknown): ConsulCheck[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).flatMap((check) => {
    const id = text(check['CheckID']);
    if (!id) return [];
    return [
      {
        CheckID: id,
        Name: text(check['Name']),
        Status: text(check['Status']),
        Output: text(check['Output']),
        Notes: text(check['Notes']),
        ServiceID: text(check['ServiceID']),
      },
    ];
  });
}

/**
 * An instance's health from its checks, as Consul's `?passing` judges it: the worst check wins (a status
 * Consul might add later counts as critical), no check at all is passing. Consul counts no runs: `checkCount`
 * is the number of checks and `failureCount` those not passing now.
 */
export function healthOf(checks: readonly ConsulCheck[]): HealthStatus {
  let worst: ConsulCheck | undefined;
  let status: HealthStatusType = 'PASSING';
  for (const check of checks) {
    const each = STATUS[check.Status] ?? 'CRITICAL';
    if (worst === undefined || SEVERITY[each] > SEVERITY[status]) {
      worst = check;
      status = each;
    }
  }
  const output = worst ? worst.Output || worst.Notes || worst.Name : '';
  return { status, output, lastCheck: null, checkCount: checks.length, failureCount: checks.filter((check) => check.Status !== 'passing').length };
}

function versionOf(meta: Record<string, string>, fault: (key: string, why: string) => void): string | null {
  const version = meta[MetaKey.version];
  if (version === undefined) return null;
  if (semver.valid(version) === version) return version;
  fault(MetaKey.version, 'not a semantic version');
  return null;
}

function integerOf(meta: Record<string, string>, key: string, fault: (key: string, why: string) => void): number | undefined {
  const value = meta[key];
  if (value === undefined) return undefined;
  if (/^\d{1,5}$/.test(value) && Number(value) <= 10_000) return Number(value);
  fault(key, 'not a whole number from 0 to 10000');
  return undefined;
}

function protocolsOf(meta: Record<string, string>, fault: (key: string, why: string) => void): string[] {
  const value = meta[MetaKey.protocols];
  if (value === undefined || value === '') return [];
  const protocols = value.split(',');
  if (protocols.every((protocol) => /^[a-z][a-z0-9+.-]{0,31}$/.test(protocol))) return protocols;
  fault(MetaKey.protocols, 'not a comma-separated list of protocol names');
  return [];
}

function ttlOf(meta: Record<string, string>, fault: (key: string, why: string) => void): string | null {
  const value = meta[MetaKey.ttl];
  if (value === undefined) return null;
  if ((parseDuration(value) ?? 0) > 0) return value;
  fault(MetaKey.ttl, 'not a duration');
  return null;
}

function timeOf(meta: Record<string, string>, fault: (key: string, why: string) => void): string {
  const value = meta[MetaKey.registeredAt];
  if (value === undefined) return UNKNOWN_TIME;
  const time = Date.parse(value);
  if (Number.isFinite(time)) return new Date(time).toISOString();
  fault(MetaKey.registeredAt, 'not an ISO-8601 time');
  return UNKNOWN_TIME;
}

/** The endpoints, from the consecutive chunks switchboard-endpoints-0, -1, … joined. */
function endpointsOf(meta: Record<string, string>, fault: (key: string, why: string) => void): Endpoint[] {
  let json = '';
  for (let n = 0; meta[endpointsChunkKey(n)] !== undefined; n++) json += meta[endpointsChunkKey(n)];
  if (json === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    fault(endpointsChunkKey(0), 'its chunks do not join into JSON');
    return [];
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (endpoint) =>
        isRecord(endpoint) &&
        typeof endpoint['path'] === 'string' &&
        typeof endpoint['method'] === 'string' &&
        (endpoint['description'] === null || typeof endpoint['description'] === 'string'),
    );
  if (!valid) {
    fault(endpointsChunkKey(0), 'not a list of endpoints { path, method, description }');
    return [];
  }
  return (parsed as Endpoint[]).map(({ path, method, description }) => ({ path, method, description }));
}

function passingWeight(weights: unknown): number | undefined {
  if (!isRecord(weights)) return undefined;
  const passing = weights['Passing'];
  return typeof passing === 'number' && Number.isInteger(passing) && passing >= 0 ? passing : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Meta as Consul gives it: strings only (anything else is not Consul's, and not ours). */
function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
