import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseDuration } from '@switchboard/contracts';
import type { BreakerConfig } from './registry/breakers/machine.js';
import { TargetPolicy } from './registry/health/policy.js';
import { parseSources, type SourceConfig } from './registry/sources/config.js';

/** Everything the process reads from its environment, parsed once at start-up. */
export interface Settings {
  port: number;
  host: string;
  /** Unset: an embedded PostgreSQL is started under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  /** Allows listening on a non-loopback address without a token. */
  allowInsecure: boolean;
  logLevel: string;
  nodeName: string;
  /** The datacenter name the Consul-compatible API reports (SWITCHBOARD_DATACENTER, default dc1). */
  datacenter: string;
  dbPoolSize: number;
  /** How long opening a database connection may take before it fails. */
  dbConnectTimeoutMs: number;
  /** How long a query or mutation may take before it is answered UNAVAILABLE. */
  requestTimeoutMs: number;
  /**
   * While the database is unreachable, how long after its last successful check a token is still
   * accepted on its last verified state (SWITCHBOARD_TOKEN_OUTAGE_GRACE; 0: never).
   */
  tokenOutageGraceMs: number;
  expirySweepMs: number;
  /** How long an ephemeral instance outlives its client's connection (a reconnect within it reclaims the instance). */
  ephemeralGraceMs: number;
  shutdownTimeoutMs: number;
  /** Versions of each configuration value kept. */
  configHistoryLimit: number;
  eventRetentionMs: number;
  eventRetentionCount: number;
  eventPruneIntervalMs: number;
  /** Whether `serve` also runs the health-check pool (`worker` always does). */
  healthWorker: boolean;
  healthConcurrency: number;
  scriptChecksEnabled: boolean;
  /** Networks health checks may reach (CIDR); undefined: anywhere. */
  healthAllowedNetworks: string[] | undefined;
  healthHistoryLimit: number;
  /**
   * How long a health check's claim outlasts its probe timeout, for writing the result back
   * (SWITCHBOARD_HEALTH_CLAIM_GRACE): a dead worker's checks are taken over this long past their timeout.
   */
  healthClaimGraceMs: number;
  /** How far back service states look for changes (SWITCHBOARD_STATE_WINDOW; queries may name their own). */
  stateWindowMs: number;
  /** Whether this process registers itself in its own catalog (`switchboard` / `switchboard-worker`). */
  selfRegister: boolean;
  /** How often a registered server's HTTP check on its own /readyz runs (SWITCHBOARD_SELF_CHECK_INTERVAL). */
  selfCheckIntervalMs: number;
  limits: RequestLimits;
  connections: ConnectionLimits;
  /** Runs of an operation before graphql-jit compiles it; undefined: never. */
  jitAfterRuns: number | undefined;
  /** Whether /ui serves the dashboard's source maps (SWITCHBOARD_DASHBOARD_SOURCEMAPS; off by default). */
  dashboardSourceMaps: boolean;
  breaker: BreakerConfig;
  alerts: AlertSettings;
  /**
   * A port of its own serving only /metrics and /healthz (SWITCHBOARD_METRICS_PORT; 0: any free
   * port): how a worker is scraped; on `serve`, a second listener beside /metrics on PORT. Unset: none.
   */
  metricsPort: number | undefined;
  sources: SourceSettings;
}

/** External registries `serve` follows into the catalog (docs/sources.md). */
export interface SourceSettings {
  /** SWITCHBOARD_SOURCES; empty: none. */
  list: SourceConfig[];
  /** How long a source that does not answer keeps its instances (SWITCHBOARD_SOURCE_GRACE). */
  graceMs: number;
  /** How long a source's follower leads unrenewed: a dead follower is replaced after at most this (SWITCHBOARD_SOURCE_LEADER_TTL). */
  leaderTtlMs: number;
}

/** Alert evaluation and webhook delivery (docs/alerts.md). */
export interface AlertSettings {
  /** Every rule is evaluated at least this often (events trigger evaluation at once). */
  intervalMs: number;
  /** How long evaluator leadership lasts unrenewed: a dead leader is replaced after at most this. */
  leaderTtlMs: number;
  webhookTimeoutMs: number;
  webhookMaxAttempts: number;
  /** The first retry's delay; doubled (with jitter) each attempt after, up to 5 minutes. */
  webhookBackoffMs: number;
  /** Whether webhooks may target loopback, link-local (cloud metadata) and unspecified addresses (SWITCHBOARD_WEBHOOK_ALLOW_LOCAL). */
  webhookAllowLocal: boolean;
  /** The registry's address as receivers should link to it; unset: this server's URL. */
  externalUrl: string | undefined;
}

/** What one request may ask of the server (docs/security.md). */
export interface RequestLimits {
  maxBodyBytes: number;
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
  maxDirectives: number;
  /** UTF-8 bytes of a query's text, refused before parsing (http/document-limits.ts). */
  maxDocumentBytes: number;
  /** Brackets open at once in a query, and levels of arrays and objects in its variables. */
  maxNesting: number;
  /** Estimated bytes the parsed-document cache may hold (server/document-cache.ts); parse errors get a quarter more. */
  documentCacheBytes: number;
  subscriptionsPerConnection: number;
  subscriptionsPerToken: number;
}

/** What one client connection may hold (docs/security.md, Limits). */
export interface ConnectionLimits {
  /** Time a client has to send a request's headers. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, headers and body (not the GraphQL deadline, Settings.requestTimeoutMs). */
  bodyTimeoutMs: number;
  /** Open connections (HTTP and WebSocket) beyond which new ones are dropped. */
  maxConnections: number;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

type Env = Record<string, string | undefined>;

const DAY_MS = 86_400_000;

export function loadSettings(env: Env = process.env): Settings {
  const settings: Settings = {
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: nonEmpty(env, 'HOST') ?? '127.0.0.1',
    databaseUrl: nonEmpty(env, 'DATABASE_URL'),
    dataDir: nonEmpty(env, 'SWITCHBOARD_DATA_DIR') ?? '.switchboard',
    adminToken: nonEmpty(env, 'SWITCHBOARD_ADMIN_TOKEN'),
    allowInsecure: boolean(env, 'SWITCHBOARD_ALLOW_INSECURE', false),
    logLevel: nonEmpty(env, 'LOG_LEVEL') ?? 'info',
    nodeName: nonEmpty(env, 'SWITCHBOARD_NODE_NAME') ?? `${hostname()}-${process.pid}`,
    datacenter: datacenterName(env, 'SWITCHBOARD_DATACENTER'),
    dbPoolSize: integer(env, 'SWITCHBOARD_DB_POOL_SIZE', 10, 2, 500),
    dbConnectTimeoutMs: duration(env, 'SWITCHBOARD_DB_CONNECT_TIMEOUT', 3_000, 100, 600_000),
    requestTimeoutMs: duration(env, 'SWITCHBOARD_REQUEST_TIMEOUT', 5_000, 100, 600_000),
    tokenOutageGraceMs: duration(env, 'SWITCHBOARD_TOKEN_OUTAGE_GRACE', 300_000, 0, DAY_MS),
    expirySweepMs: duration(env, 'SWITCHBOARD_EXPIRY_SWEEP', 1000, 50, 60_000),
    ephemeralGraceMs: duration(env, 'SWITCHBOARD_EPHEMERAL_GRACE', 5_000, 300, 3_600_000),
    shutdownTimeoutMs: duration(env, 'SWITCHBOARD_SHUTDOWN_TIMEOUT', 10_000, 0, 600_000),
    configHistoryLimit: integer(env, 'SWITCHBOARD_CONFIG_HISTORY', 100, 1, 100_000),
    eventRetentionMs: duration(env, 'SWITCHBOARD_EVENT_RETENTION', 7 * DAY_MS, 60_000, 3650 * DAY_MS),
    eventRetentionCount: integer(env, 'SWITCHBOARD_EVENT_RETENTION_COUNT', 1_000_000, 10, 1_000_000_000),
    eventPruneIntervalMs: duration(env, 'SWITCHBOARD_EVENT_PRUNE_INTERVAL', 60_000, 50, DAY_MS),
    healthWorker: boolean(env, 'SWITCHBOARD_HEALTH_WORKER', true),
    healthConcurrency: integer(env, 'SWITCHBOARD_HEALTH_CONCURRENCY', 256, 1, 100_000),
    scriptChecksEnabled: boolean(env, 'SWITCHBOARD_ENABLE_SCRIPT_CHECKS', false),
    healthAllowedNetworks: networks(env, 'SWITCHBOARD_HEALTH_ALLOWED_NETWORKS'),
    healthHistoryLimit: integer(env, 'SWITCHBOARD_HEALTH_HISTORY', 100, 1, 100_000),
    healthClaimGraceMs: duration(env, 'SWITCHBOARD_HEALTH_CLAIM_GRACE', 2_000, 100, 600_000),
    metricsPort: nonEmpty(env, 'SWITCHBOARD_METRICS_PORT') === undefined ? undefined : integer(env, 'SWITCHBOARD_METRICS_PORT', 0, 0, 65535),
    stateWindowMs: duration(env, 'SWITCHBOARD_STATE_WINDOW', 300_000, 1_000, 7 * DAY_MS),
    selfRegister: boolean(env, 'SWITCHBOARD_SELF_REGISTER', true),
    selfCheckIntervalMs: duration(env, 'SWITCHBOARD_SELF_CHECK_INTERVAL', 5_000, 1_000, 3_600_000),
    jitAfterRuns: nonEmpty(env, 'SWITCHBOARD_JIT_AFTER')?.toLowerCase() === 'off' ? undefined : integer(env, 'SWITCHBOARD_JIT_AFTER', 1, 0, 1_000_000),
    dashboardSourceMaps: boolean(env, 'SWITCHBOARD_DASHBOARD_SOURCEMAPS', false),
    limits: {
      maxBodyBytes: integer(env, 'SWITCHBOARD_MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
      maxDepth: integer(env, 'SWITCHBOARD_MAX_QUERY_DEPTH', 12, 2, 100),
      maxAliases: integer(env, 'SWITCHBOARD_MAX_ALIASES', 100, 1, 10_000),
      // The largest documented page, events(first: 1000) with every Event field, costs 17,000
      // (graphql-armor multiplies a field's cost by its `first`; a variable counts as 1000, see
      // server/cost.ts): the default must admit it.
      maxCost: integer(env, 'SWITCHBOARD_MAX_QUERY_COST', 20_000, 10, 1_000_000),
      maxTokens: integer(env, 'SWITCHBOARD_MAX_QUERY_TOKENS', 10_000, 100, 1_000_000),
      maxDirectives: integer(env, 'SWITCHBOARD_MAX_DIRECTIVES', 20, 1, 1_000),
      // Far below the body limit: a cached document costs its text and ~500 bytes per token.
      maxDocumentBytes: integer(env, 'SWITCHBOARD_MAX_DOCUMENT_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
      // graphql-js parses recursively: ~4,000 nested brackets overflowed its stack. At most 1,000.
      maxNesting: integer(env, 'SWITCHBOARD_MAX_NESTING', 100, 8, 1_000),
      documentCacheBytes: integer(env, 'SWITCHBOARD_DOCUMENT_CACHE_BYTES', 16 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
      subscriptionsPerConnection: integer(env, 'SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1, 100_000),
      subscriptionsPerToken: integer(env, 'SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_TOKEN', 1_000, 1, 1_000_000),
    },
    connections: {
      headersTimeoutMs: duration(env, 'SWITCHBOARD_HEADERS_TIMEOUT', 10_000, 100, 600_000),
      bodyTimeoutMs: duration(env, 'SWITCHBOARD_REQUEST_BODY_TIMEOUT', 30_000, 100, 3_600_000),
      maxConnections: integer(env, 'SWITCHBOARD_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    },
    breaker: {
      windowMs: duration(env, 'SWITCHBOARD_BREAKER_WINDOW', 30_000, 1_000, DAY_MS),
      minCalls: integer(env, 'SWITCHBOARD_BREAKER_MIN_CALLS', 5, 1, 1_000_000),
      failureRatio: ratio(env, 'SWITCHBOARD_BREAKER_FAILURE_RATIO', 0.5),
      cooldownMs: duration(env, 'SWITCHBOARD_BREAKER_COOLDOWN', 30_000, 100, DAY_MS),
      halfOpenProbes: integer(env, 'SWITCHBOARD_BREAKER_HALF_OPEN_PROBES', 1, 1, 1_000),
      slowCallMs: nonEmpty(env, 'SWITCHBOARD_BREAKER_SLOW_CALL') === undefined ? undefined : duration(env, 'SWITCHBOARD_BREAKER_SLOW_CALL', 0, 1, 3_600_000),
    },
    sources: {
      list: sources(env, 'SWITCHBOARD_SOURCES'),
      graceMs: duration(env, 'SWITCHBOARD_SOURCE_GRACE', 60_000, 0, 7 * DAY_MS),
      leaderTtlMs: duration(env, 'SWITCHBOARD_SOURCE_LEADER_TTL', 10_000, 300, 600_000),
    },
    alerts: {
      intervalMs: duration(env, 'SWITCHBOARD_ALERT_INTERVAL', 1_000, 50, 600_000),
      leaderTtlMs: duration(env, renamed(env, 'SWITCHBOARD_ALERT_LEADER_TTL', 'SWITCHBOARD_ALERT_LEASE_TTL'), 10_000, 300, 600_000),
      webhookTimeoutMs: duration(env, 'SWITCHBOARD_WEBHOOK_TIMEOUT', 10_000, 100, 300_000),
      webhookMaxAttempts: integer(env, 'SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
      webhookBackoffMs: duration(env, 'SWITCHBOARD_WEBHOOK_BACKOFF', 1_000, 10, 3_600_000),
      webhookAllowLocal: boolean(env, 'SWITCHBOARD_WEBHOOK_ALLOW_LOCAL', false),
      externalUrl: nonEmpty(env, 'SWITCHBOARD_EXTERNAL_URL')?.replace(/\/+$/, ''),
    },
  };
  if (settings.adminToken !== undefined && settings.adminToken.length < 16) {
    throw new SettingsError('SWITCHBOARD_ADMIN_TOKEN must be at least 16 characters long.');
  }
  if (settings.connections.headersTimeoutMs > settings.connections.bodyTimeoutMs) {
    throw new SettingsError('SWITCHBOARD_HEADERS_TIMEOUT must not exceed SWITCHBOARD_REQUEST_BODY_TIMEOUT: the headers are part of the request.');
  }
  if (!isLoopback(settings.host) && settings.adminToken === undefined && !settings.allowInsecure) {
    throw new SettingsError(
      `Refusing to listen on ${settings.host} without SWITCHBOARD_ADMIN_TOKEN: anyone who can reach ` +
        'the port could rewrite the registry. Set a token, or set SWITCHBOARD_ALLOW_INSECURE=true ' +
        'if this network is trusted.',
    );
  }
  return settings;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** The setting's name to read: `name`, or the name it had before when only that one is set. */
function renamed(env: Env, name: string, formerName: string): string {
  return nonEmpty(env, name) === undefined && nonEmpty(env, formerName) !== undefined ? formerName : name;
}

/** Consul's rule for datacenter names: letters, digits, "-" and "_". */
function datacenterName(env: Env, name: string): string {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return 'dc1';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new SettingsError(`${name} must be 1-64 letters, digits, "-" or "_", got "${raw}".`);
  return raw;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer from ${min} to ${max}, got "${raw}".`);
  }
  return value;
}

function duration(env: Env, name: string, fallback: number, minMs: number, maxMs: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = parseDuration(raw);
  if (value === undefined || value < minMs || value > maxMs) {
    throw new SettingsError(`${name} must be a duration such as "30s" between ${minMs}ms and ${maxMs}ms, got "${raw}".`);
  }
  return value;
}

function ratio(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 1) throw new SettingsError(`${name} must be a number above 0 and at most 1, got "${raw}".`);
  return value;
}

function networks(env: Env, name: string): string[] | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  const list = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  try {
    new TargetPolicy(list);
  } catch (error) {
    throw new SettingsError(`${name}: ${(error as Error).message}`);
  }
  return list;
}

function sources(env: Env, name: string): SourceConfig[] {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return [];
  try {
    return parseSources(raw);
  } catch (error) {
    throw new SettingsError(`${name} ${(error as Error).message}`);
  }
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new SettingsError(`${name} must be true or false, got "${raw}".`);
}
