import { badInput, formatDuration } from '@switchboard/contracts';
import { toMilliseconds, type Duration } from '@switchboard/sdk';

export interface ConsulRegistryOptions {
  /** The agent's HTTP address, "host:port" (default "127.0.0.1:8500", as Consul's own clients). */
  address?: string;
  /** "http" (default) or "https". */
  scheme?: 'http' | 'https';
  /** Sent as `?dc=` on every request; default: the agent's own datacenter. */
  datacenter?: string;
  /** An ACL token, sent as the `X-Consul-Token` header. */
  token?: string;
  /** TLS settings for `https` (a private CA, a client certificate). */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean };
  /**
   * The seed's DefaultTTL: a definition with neither `ttl` nor `healthCheck` is registered with a TTL lease
   * this long (and must then be renewed with `renewService`). Default: none; such an instance has no check.
   */
  defaultTtl?: Duration;
  /** The interval of an HTTP, TCP, gRPC or script check that names none (default 10s; Consul requires one). */
  defaultInterval?: Duration;
  /** The timeout of a check that names none (default 5s). */
  defaultTimeout?: Duration;
  /** How long to keep trying to connect before a call fails UNAVAILABLE (default 5s). */
  dialTimeout?: Duration;
  /** How long a connected request may take to be answered, blocking waits aside (default 10s). */
  requestTimeout?: Duration;
  /** How long one blocking query of a watch waits on the server (Consul's `wait`, default 60s, at most 10m). */
  watchWait?: Duration;
  /**
   * Blocking-query loops are rate limited by a token bucket (Consul's advice): `burst` answers in a row are
   * followed at once, then one every `interval`. Only answers that brought no new data spend a token, so changes
   * are delivered at once however often they come. Default: burst 5, interval 1s.
   */
  watchRateLimit?: { burst?: number; interval?: Duration };
  /** KV prefixes (each ends in "/"): configuration values, components and the event log. */
  configPrefix?: string;
  componentPrefix?: string;
  eventPrefix?: string;
  /** How long a published event stays in the KV event log (default 10m): a subscriber away for longer misses it. */
  eventRetention?: Duration;
  /** Something under a prefix or in an instance's Meta that is not what this package writes, a watch that lost Consul (default: console.warn). */
  onWarning?: (message: string) => void;
}

/** The options with their defaults, durations in milliseconds. */
export interface ConsulSettings {
  baseUrl: URL;
  backend: string;
  datacenter: string | undefined;
  token: string | undefined;
  tls: ConsulRegistryOptions['tls'];
  defaultTtlMs: number | undefined;
  defaultIntervalMs: number;
  defaultTimeoutMs: number;
  dialTimeoutMs: number;
  requestTimeoutMs: number;
  watchWaitMs: number;
  watchRate: { burst: number; intervalMs: number };
  configPrefix: string;
  componentPrefix: string;
  eventPrefix: string;
  eventRetentionMs: number;
  warn: (message: string) => void;
}

/** Consul caps a blocking query's wait at 10 minutes. */
const MAX_WAIT_MS = 10 * 60_000;

export function resolveSettings(options: ConsulRegistryOptions): ConsulSettings {
  const scheme = options.scheme ?? 'http';
  if (scheme !== 'http' && scheme !== 'https') throw badInput(`scheme must be "http" or "https", not "${String(scheme).slice(0, 20)}".`, { field: 'scheme' });
  const address = options.address ?? '127.0.0.1:8500';
  let baseUrl: URL;
  try {
    baseUrl = new URL(`${scheme}://${address}`);
  } catch {
    throw badInput(`address must be "host:port", like "127.0.0.1:8500"; got "${address.slice(0, 80)}".`, { field: 'address' });
  }
  if (baseUrl.pathname !== '/' || baseUrl.search !== '' || baseUrl.username !== '') {
    throw badInput(`address must be "host:port" alone, like "127.0.0.1:8500"; got "${address.slice(0, 80)}".`, { field: 'address' });
  }
  const watchWaitMs = Math.min(duration(options.watchWait, 'watchWait') ?? 60_000, MAX_WAIT_MS);
  return {
    baseUrl,
    backend: `consul ${baseUrl.origin}`,
    datacenter: options.datacenter || undefined,
    token: options.token || undefined,
    tls: options.tls,
    defaultTtlMs: duration(options.defaultTtl, 'defaultTtl'),
    defaultIntervalMs: duration(options.defaultInterval, 'defaultInterval') ?? 10_000,
    defaultTimeoutMs: duration(options.defaultTimeout, 'defaultTimeout') ?? 5_000,
    dialTimeoutMs: duration(options.dialTimeout, 'dialTimeout') ?? 5_000,
    requestTimeoutMs: duration(options.requestTimeout, 'requestTimeout') ?? 10_000,
    watchWaitMs,
    watchRate: {
      burst: Math.max(1, options.watchRateLimit?.burst ?? 5),
      intervalMs: duration(options.watchRateLimit?.interval, 'watchRateLimit.interval') ?? 1_000,
    },
    configPrefix: prefix(options.configPrefix ?? 'switchboard/config/', 'configPrefix'),
    componentPrefix: prefix(options.componentPrefix ?? 'switchboard/components/', 'componentPrefix'),
    eventPrefix: prefix(options.eventPrefix ?? 'switchboard/events/', 'eventPrefix'),
    eventRetentionMs: duration(options.eventRetention, 'eventRetention') ?? 10 * 60_000,
    warn: options.onWarning ?? ((message) => console.warn(`switchboard consul: ${message}`)),
  };
}

function duration(value: Duration | undefined, field: string): number | undefined {
  const ms = toMilliseconds(value, field) ?? undefined;
  if (ms !== undefined && !(ms > 0)) throw badInput(`${field} must be above 0; got ${formatDuration(ms)}.`, { field });
  return ms;
}

/** A KV prefix: parts of letters, digits, "_" and "-" (what any Consul, and Switchboard's, accepts), ending in "/". */
function prefix(value: string, field: string): string {
  if (!/^([A-Za-z0-9_-]+\/)+$/.test(value)) {
    throw badInput(`${field} must be KV folders ending in "/", like "switchboard/config/"; got "${value.slice(0, 80)}".`, { field });
  }
  return value;
}
