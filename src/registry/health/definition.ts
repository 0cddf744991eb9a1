import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { badInput, CheckLimits, checkSchema, isIP, parseInput, SwitchboardError, type CheckTarget, type HealthCheckInput } from '@switchboard/contracts';
import type { CheckStatus, HealthCheck } from './model.js';
import type { TargetPolicy } from './policy.js';

/** A validated check, ready to store: the fields of a check its registration defines. */
export type CheckDefinition = Pick<
  HealthCheck,
  'id' | 'name' | 'kind' | 'target' | 'intervalMs' | 'timeoutMs' | 'ttlMs' | 'successBeforePassing' | 'failuresBeforeCritical' | 'deregisterCriticalAfterMs'
>;

/**
 * A check as a registration gives it: its definition, and the status it starts with if it is new
 * (Consul's `Status`; default CRITICAL). The initial status is not part of the definition: an
 * existing check keeps the status it has, so re-registering does not flap it (see upsertChecks).
 */
export type NewCheck = CheckDefinition & { initialStatus: CheckStatus };

/** What the operator allows (passed in from configuration). */
export interface CheckPolicy {
  scriptChecksEnabled: boolean;
  targets: TargetPolicy;
}

const HOST = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const FIELD_NAMES = { ttlMs: 'ttl', intervalMs: 'interval', timeoutMs: 'timeout', deregisterCriticalAfterMs: 'deregisterCriticalServiceAfter' };

/** Validates a check for an instance; FORBIDDEN for what the operator has not allowed. */
export function parseCheckDefinition(serviceId: string, input: HealthCheckInput, policy: CheckPolicy): NewCheck {
  const parsed = parseInput(checkSchema, input, 'health check', FIELD_NAMES);
  const kinds = (['http', 'tcp', 'grpc', 'script', 'ttlMs'] as const).filter((field) => parsed[field] != null);
  if (kinds.length !== 1) {
    throw badInput('A health check needs exactly one of http, tcp, grpc, script or ttl.', { field: 'check' });
  }
  const target = parseTarget(kinds[0]!, parsed, policy);
  if (target.kind === 'TTL' && parsed.intervalMs != null) throw badInput('A TTL check has no interval: it lasts ttl after each update.', { field: 'interval' });
  if (target.kind !== 'TTL') for (const host of hostsOf(target)) policy.targets.assertLiteralAllowed(host);

  const intervalMs = target.kind === 'TTL' ? parsed.ttlMs! : (parsed.intervalMs ?? CheckLimits.defaultIntervalMs);
  const timeoutMs = parsed.timeoutMs ?? (target.kind === 'SCRIPT' ? CheckLimits.defaultScriptTimeoutMs : CheckLimits.defaultTimeoutMs);
  const name = parsed.name ?? describeTarget(target);
  return {
    id: parsed.id ?? defaultCheckId(serviceId, parsed.name, target),
    name,
    kind: target.kind,
    target,
    intervalMs,
    timeoutMs,
    ttlMs: target.kind === 'TTL' ? parsed.ttlMs! : null,
    successBeforePassing: parsed.successBeforePassing ?? 0,
    failuresBeforeCritical: parsed.failuresBeforeCritical ?? 0,
    deregisterCriticalAfterMs: parsed.deregisterCriticalAfterMs ?? null,
    initialStatus: parsed.status ?? 'CRITICAL',
  };
}

type Parsed = z.infer<typeof checkSchema>;

/**
 * Deterministic, so registering the same check again updates it instead of adding
 * a twin: "<instance>:<name>" for a named check, else from the kind and target.
 */
function defaultCheckId(serviceId: string, name: string | null | undefined, target: CheckTarget): string {
  const slug = name
    ?.toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (slug) return `${serviceId}:${slug}`;
  return `${serviceId}:${target.kind.toLowerCase()}-${createHash('sha256').update(JSON.stringify(target)).digest('hex').slice(0, 8)}`;
}

function parseTarget(kind: 'http' | 'tcp' | 'grpc' | 'script' | 'ttlMs', parsed: Parsed, policy: CheckPolicy): CheckTarget {
  switch (kind) {
    case 'http': {
      let url: URL;
      try {
        url = new URL(parsed.http!);
      } catch {
        throw badInput(`"${parsed.http!.slice(0, 100)}" is not a URL.`, { field: 'http' });
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badInput('An HTTP check URL must be http:// or https://.', { field: 'http' });
      if (url.username || url.password) throw badInput('Put credentials in headers, not in the check URL (it is shown in outputs).', { field: 'http' });
      return {
        kind: 'HTTP',
        url: url.toString(),
        method: (parsed.method ?? 'GET').toUpperCase(),
        headers: parsed.headers ?? {},
        tlsSkipVerify: parsed.tlsSkipVerify ?? false,
      };
    }
    case 'tcp':
      return { kind: 'TCP', address: parseHostPort(parsed.tcp!, 'tcp') };
    case 'grpc': {
      const [address, ...service] = parsed.grpc!.split('/');
      return { kind: 'GRPC', address: parseHostPort(address!, 'grpc'), service: service.join('/'), useTls: parsed.grpcUseTls ?? false };
    }
    case 'script':
      if (!policy.scriptChecksEnabled) {
        throw new SwitchboardError(
          'FORBIDDEN',
          'Script checks run commands on the registry host and are disabled; the operator can enable them with SWITCHBOARD_ENABLE_SCRIPT_CHECKS=true.',
        );
      }
      return { kind: 'SCRIPT', command: parsed.script!, args: [...(parsed.args ?? [])] };
    case 'ttlMs':
      return { kind: 'TTL' };
  }
}

/** "host:port" or "[v6]:port", validated; returned as written. */
function parseHostPort(text: string, field: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  const host = match?.[1]?.replace(/^\[|\]$/g, '') ?? '';
  const port = Number(match?.[2]);
  if (!match || !(isIP(host) || HOST.test(host)) || port < 1 || port > 65535) {
    throw badInput(`"${text.slice(0, 100)}" is not "host:port".`, { field });
  }
  return text;
}

export function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

function hostsOf(target: CheckTarget): string[] {
  switch (target.kind) {
    case 'HTTP':
      return [new URL(target.url).hostname];
    case 'TCP':
    case 'GRPC':
      return [splitHostPort(target.address).host];
    default:
      return [];
  }
}

export function describeTarget(target: CheckTarget): string {
  switch (target.kind) {
    case 'HTTP':
      return `HTTP ${target.method} ${target.url}`;
    case 'TCP':
      return `TCP ${target.address}`;
    case 'GRPC':
      return `gRPC ${target.address}${target.service ? `/${target.service}` : ''}`;
    case 'SCRIPT':
      return `Script ${[target.command, ...target.args].join(' ')}`.slice(0, 128);
    case 'TTL':
      return 'TTL';
  }
}
