import { isIP } from '@switchboard/contracts';
import type { Endpoint, HealthStatus, HealthStatusType, ServiceInstance } from '@switchboard/sdk';

/**
 * An instance as its key's value holds it. The first three fields are what etcd's Go naming package
 * (`client/v3/naming/endpoints`, read by its gRPC resolver) writes and reads: `{"Op":0,"Addr":"host:port",
 * "Metadata":…}`, decoded with encoding/json, which ignores the other fields. The rest are Switchboard's.
 * No other field may be spelled like those three in any case: Go matches JSON names case-insensitively.
 */
export interface InstanceRecord {
  /** 0: the Go package's `Add` (grpc-go ≤ 1.29's naming.Update read it). */
  Op: 0;
  /** "host:port" ("[v6]:port"); the host alone when the instance has no port. */
  Addr: string;
  /** The instance's metadata (Go: `any`). */
  Metadata: Record<string, string>;
  id: string;
  name: string;
  version: string | null;
  address: string;
  port: number | null;
  tags: string[];
  endpoints: Endpoint[];
  protocols: string[];
  weight: number;
  priority: number;
  /** The lease, as a duration ("30s"). */
  ttl: string;
  registeredAt: string;
  updatedAt: string;
  health: HealthRecord;
}

export interface HealthRecord extends HealthStatus {
  /** The check the registering process runs, if any. */
  check: { id: string; name: string } | null;
}

/** A key under the service prefix: `<prefix><service>/<id>`. */
export function instanceKey(prefix: string, name: string, id: string): string {
  return `${prefix}${name}/${id}`;
}

/** The service and id a key names, or undefined when it is not `<prefix><service>/<id>`. */
export function parseInstanceKey(prefix: string, key: string): { name: string; id: string } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { name: rest.slice(0, slash), id: rest.slice(slash + 1) };
}

/** "host:port", with an IPv6 host in brackets as gRPC expects; the host alone without a port. */
export function hostPort(address: string, port: number | null): string {
  if (port === null) return address;
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Splits an `Addr` ("host:port", "[v6]:port", "host"); undefined when it is none of these. */
export function splitAddr(addr: string): { address: string; port: number | null } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(addr);
  if (bracketed) return withPort(bracketed[1]!, bracketed[2]);
  const colons = addr.split(':').length - 1;
  if (colons === 0) return addr === '' ? undefined : { address: addr, port: null };
  // A bare IPv6 address has several colons and no port.
  if (colons > 1) return isIP(addr) === 6 ? { address: addr, port: null } : undefined;
  const [host, port] = addr.split(':') as [string, string];
  return host === '' ? undefined : withPort(host, port);
}

function withPort(address: string, port: string | undefined): { address: string; port: number | null } | undefined {
  if (port === undefined) return { address, port: null };
  const number = Number(port);
  return /^\d{1,5}$/.test(port) && number >= 1 && number <= 65535 ? { address, port: number } : undefined;
}

export function encodeInstance(record: InstanceRecord): string {
  return JSON.stringify(record);
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Reads a value under the service prefix: one written here, or by another client of the Go naming package
 * (only `Addr` and `Metadata`: the instance is then PASSING while its key lives, its times unknown).
 * Anything else is a problem to report, never an exception.
 */
export function decodeInstance(key: { name: string; id: string }, value: string): Decoded<InstanceRecord> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { ok: false, problem: 'the value is not JSON' };
  }
  if (!isObject(parsed)) return { ok: false, problem: 'the value is not a JSON object' };
  const fields = new Fields(parsed);
  const addr = fields.string('Addr') ?? '';
  const split = addr === '' ? undefined : splitAddr(addr);
  const address = fields.string('address') ?? split?.address;
  if (address === undefined || address === '') return { ok: false, problem: `it has no usable address (Addr ${JSON.stringify(addr.slice(0, 80))})` };
  const port = fields.has('port') ? fields.port('port') : (split?.port ?? null);
  const record: InstanceRecord = {
    Op: 0,
    Addr: addr || hostPort(address, port),
    Metadata: metadataOf(parsed['Metadata']),
    // The key is what discovery ranges over: it names the instance, whatever the value says.
    id: key.id,
    name: key.name,
    version: fields.nullableString('version'),
    address,
    port,
    tags: fields.strings('tags'),
    endpoints: fields.list('endpoints', endpointOf),
    protocols: fields.strings('protocols'),
    weight: fields.integer('weight', 1),
    priority: fields.integer('priority', 0),
    ttl: fields.string('ttl') ?? '',
    registeredAt: fields.string('registeredAt') ?? EPOCH,
    updatedAt: fields.string('updatedAt') ?? fields.string('registeredAt') ?? EPOCH,
    health: healthOf(parsed['health'], fields),
  };
  return fields.problem ? { ok: false, problem: fields.problem } : { ok: true, value: record };
}

/** Times of an instance written without them (by the Go naming package). */
const EPOCH = new Date(0).toISOString();

export function toInstance(record: InstanceRecord): ServiceInstance {
  return {
    id: record.id,
    name: record.name,
    version: record.version,
    address: record.address,
    port: record.port,
    tags: [...record.tags],
    metadata: { ...record.Metadata },
    endpoints: record.endpoints.map((endpoint) => ({ ...endpoint })),
    protocols: [...record.protocols],
    weight: record.weight,
    priority: record.priority,
    ttl: record.ttl || null,
    registeredAt: record.registeredAt,
    updatedAt: record.updatedAt,
    lastHeartbeatAt: null,
    expiresAt: null,
    health: { status: record.health.status, output: record.health.output },
  };
}

const STATUSES: readonly HealthStatusType[] = ['PASSING', 'WARNING', 'CRITICAL', 'UNKNOWN'];

function healthOf(value: unknown, fields: Fields): HealthRecord {
  // A key that exists is a lease kept alive: passing, unless a check said otherwise.
  const passing: HealthRecord = { status: 'PASSING', output: '', lastCheck: null, checkCount: 0, failureCount: 0, check: null };
  if (value === undefined || value === null) return passing;
  if (!isObject(value)) {
    fields.fail('health is not an object');
    return passing;
  }
  const health = new Fields(value, fields);
  const status = health.string('status') ?? 'PASSING';
  if (!STATUSES.includes(status as HealthStatusType)) fields.fail(`health.status ${JSON.stringify(status.slice(0, 40))} is not a status`);
  const check = value['check'];
  return {
    status: status as HealthStatusType,
    output: health.string('output') ?? '',
    lastCheck: health.nullableString('lastCheck'),
    checkCount: health.integer('checkCount', 0),
    failureCount: health.integer('failureCount', 0),
    check: isObject(check) && typeof check['id'] === 'string' && typeof check['name'] === 'string' ? { id: check['id'], name: check['name'] } : null,
  };
}

/** Go writers may put any JSON here: strings are kept as they are, other values as their JSON. */
function metadataOf(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, typeof item === 'string' ? item : JSON.stringify(item)]));
}

function endpointOf(value: unknown): Endpoint | undefined {
  if (!isObject(value) || typeof value['path'] !== 'string' || typeof value['method'] !== 'string') return undefined;
  return { path: value['path'], method: value['method'], description: typeof value['description'] === 'string' ? value['description'] : null };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads typed fields of a JSON object, recording the first one of the wrong type as the problem. */
class Fields {
  constructor(
    private readonly object: Record<string, unknown>,
    private readonly parent?: Fields,
  ) {}

  private own: string | undefined;

  get problem(): string | undefined {
    return this.own;
  }

  fail(problem: string): void {
    if (this.parent) this.parent.fail(problem);
    else this.own ??= problem;
  }

  has(name: string): boolean {
    return this.object[name] !== undefined && this.object[name] !== null;
  }

  string(name: string): string | undefined {
    const value = this.object[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    this.fail(`${name} is not a string`);
    return undefined;
  }

  nullableString(name: string): string | null {
    return this.string(name) ?? null;
  }

  integer(name: string, fallback: number): number {
    const value = this.object[name];
    if (value === undefined || value === null) return fallback;
    if (Number.isSafeInteger(value)) return value as number;
    this.fail(`${name} is not an integer`);
    return fallback;
  }

  port(name: string): number | null {
    const value = this.integer(name, 0);
    if (value === 0) return null;
    if (value < 1 || value > 65535) this.fail(`${name} ${value} is not a port`);
    return value;
  }

  strings(name: string): string[] {
    const value = this.object[name];
    if (value === undefined || value === null) return [];
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
    this.fail(`${name} is not a list of strings`);
    return [];
  }

  list<T>(name: string, item: (value: unknown) => T | undefined): T[] {
    const value = this.object[name];
    if (value === undefined || value === null) return [];
    const items = Array.isArray(value) ? value.map(item) : [undefined];
    if (items.some((each) => each === undefined)) {
      this.fail(`${name} is not a list of the expected objects`);
      return [];
    }
    return items as T[];
  }
}
