import { badInput } from '@switchboard/contracts';
import { toMilliseconds, type Duration } from '@switchboard/sdk';
import type { Etcd3 } from 'etcd3';

export interface EtcdRegistryOptions {
  /** etcd's client URLs: "127.0.0.1:2379", "http://etcd-1:2379", or several (default "127.0.0.1:2379"). */
  endpoints?: string | readonly string[];
  /**
   * How long a call waits for etcd to answer, retrying while it cannot be reached; then UNAVAILABLE
   * naming the backend (default "5s").
   */
  dialTimeout?: Duration;
  /** etcd user and password, when etcd's authentication is enabled. */
  username?: string;
  password?: string;
  /** Instances live at `<servicePrefix><service>/<id>` (default "/services/"). */
  servicePrefix?: string;
  /** Configuration values at `<configPrefix><key>` (default "/config/"). */
  configPrefix?: string;
  /** Published events at `<eventsPrefix><type>/<uuid>` (default "/events/"). */
  eventsPrefix?: string;
  /** Components at `<componentsPrefix><id>` (default "/components/"). */
  componentsPrefix?: string;
  /** The lease of an instance whose definition has no `ttl` (default "30s"). */
  defaultTtl?: Duration;
  /** How long a published event stays in etcd (default "1h"; it may stay up to a tenth longer). */
  eventRetention?: Duration;
  /** Use this client instead of opening one: `close()` leaves it open, and endpoints and credentials are ignored. */
  client?: Etcd3;
  /** A malformed value skipped, a lost lease renewed, a check that could not be written (default: console.warn). */
  onWarning?: (message: string) => void;
}

export interface ResolvedOptions {
  endpoints: string[];
  dialTimeoutMs: number;
  prefixes: Prefixes;
  defaultTtlSeconds: number;
  eventRetentionMs: number;
  onWarning: (message: string) => void;
}

export interface Prefixes {
  services: string;
  config: string;
  events: string;
  components: string;
}

export const DEFAULTS = {
  endpoint: '127.0.0.1:2379',
  dialTimeout: '5s',
  servicePrefix: '/services/',
  configPrefix: '/config/',
  eventsPrefix: '/events/',
  componentsPrefix: '/components/',
  defaultTtl: '30s',
  eventRetention: '1h',
} as const;

/** Checks the options once, so a bad prefix or duration fails at construction, before anything is sent. */
export function resolveOptions(options: EtcdRegistryOptions): ResolvedOptions {
  const endpoints = typeof options.endpoints === 'string' ? [options.endpoints] : [...(options.endpoints ?? [DEFAULTS.endpoint])];
  if (endpoints.length === 0 || endpoints.some((endpoint) => endpoint.trim() === '')) {
    throw badInput('endpoints must name at least one etcd client URL, like "127.0.0.1:2379".', { field: 'endpoints' });
  }
  if ((options.username === undefined) !== (options.password === undefined)) {
    throw badInput('username and password go together.', { field: options.username === undefined ? 'username' : 'password' });
  }
  const prefixes: Prefixes = {
    services: prefix(options.servicePrefix ?? DEFAULTS.servicePrefix, 'servicePrefix'),
    config: prefix(options.configPrefix ?? DEFAULTS.configPrefix, 'configPrefix'),
    events: prefix(options.eventsPrefix ?? DEFAULTS.eventsPrefix, 'eventsPrefix'),
    components: prefix(options.componentsPrefix ?? DEFAULTS.componentsPrefix, 'componentsPrefix'),
  };
  const all = Object.values(prefixes);
  for (const one of all) {
    const overlapping = all.find((other) => other !== one && other.startsWith(one));
    // Discovery would read config values as malformed instances, and so on.
    if (overlapping) throw badInput(`The prefixes "${one}" and "${overlapping}" overlap: give each kind of data its own.`, { field: 'prefix' });
  }
  const dialTimeoutMs = positive(options.dialTimeout ?? DEFAULTS.dialTimeout, 'dialTimeout');
  const ttlMs = positive(options.defaultTtl ?? DEFAULTS.defaultTtl, 'defaultTtl');
  return {
    endpoints,
    dialTimeoutMs,
    prefixes,
    // etcd leases are whole seconds.
    defaultTtlSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
    eventRetentionMs: Math.max(1000, positive(options.eventRetention ?? DEFAULTS.eventRetention, 'eventRetention')),
    onWarning: options.onWarning ?? ((message) => console.warn(message)),
  };
}

/** "etcd 127.0.0.1:2379" (or several, comma-separated): how errors and health reports name the backend. */
export function backendName(endpoints: readonly string[]): string {
  return `etcd ${endpoints.map((endpoint) => endpoint.replace(/^https?:\/\//, '')).join(',')}`;
}

function prefix(value: string, field: string): string {
  if (value.length === 0 || value.length > 256 || !value.endsWith('/')) {
    throw badInput(`${field} must be a key prefix ending in "/", like "/services/"; got ${JSON.stringify(value.slice(0, 80))}.`, { field });
  }
  return value;
}

function positive(duration: Duration, field: string): number {
  const ms = toMilliseconds(duration, field)!;
  if (!(ms > 0)) throw badInput(`${field} must be a positive duration, like "5s".`, { field });
  return ms;
}
