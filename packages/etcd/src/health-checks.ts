import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { CheckLimits, notSupported, badInput, type CheckStatusValue } from '@switchboard/contracts';
import { toMilliseconds, validateHealthCheck, type HealthCheck } from '@switchboard/sdk';

/**
 * Health checks over etcd: etcd runs none, so the process that registered an instance probes it (HTTP or TCP,
 * as Consul's agent does) and writes the status into the instance's value. What a check needs, parsed once.
 */
export interface CheckPlan {
  id: string;
  name: string;
  target: { kind: 'http'; url: string; method: string; headers: Record<string, string>; tlsSkipVerify: boolean } | { kind: 'tcp'; address: string };
  intervalMs: number;
  timeoutMs: number;
  successBeforePassing: number;
  failuresBeforeCritical: number;
  deregisterCriticalAfterMs: number | null;
  initialStatus: CheckStatusValue;
}

export interface ProbeResult {
  status: CheckStatusValue;
  output: string;
}

const OUTPUT_LIMIT = 4096;

/** Validates a check as the server would, then refuses the kinds a process cannot run for etcd. */
export function planCheck(serviceId: string, check: HealthCheck, backend: string): CheckPlan {
  validateHealthCheck(check);
  const kinds = (['http', 'tcp', 'grpc', 'script', 'ttl'] as const).filter((kind) => check[kind] != null);
  if (kinds.length !== 1) throw badInput('A health check needs exactly one of http, tcp, grpc, script or ttl.', { field: 'check' });
  const kind = kinds[0]!;
  if (kind !== 'http' && kind !== 'tcp') {
    const instead = kind === 'ttl' ? ': give the definition a ttl instead (the instance is then kept by its etcd lease)' : '';
    throw notSupported(`${backend} runs no ${kind} checks; only http and tcp checks, which the registering process runs${instead}.`);
  }
  const target = kind === 'http' ? httpTarget(check) : { kind: 'tcp' as const, address: tcpAddress(check.tcp!) };
  const name = check.name ?? (target.kind === 'http' ? `HTTP ${target.method} ${target.url}` : `TCP ${target.address}`);
  return {
    id: check.id ?? `${serviceId}:${kind}-${createHash('sha256').update(JSON.stringify(target)).digest('hex').slice(0, 8)}`,
    name,
    target,
    intervalMs: toMilliseconds(check.interval, 'interval') ?? CheckLimits.defaultIntervalMs,
    timeoutMs: toMilliseconds(check.timeout, 'timeout') ?? CheckLimits.defaultTimeoutMs,
    successBeforePassing: check.successBeforePassing ?? 0,
    failuresBeforeCritical: check.failuresBeforeCritical ?? 0,
    deregisterCriticalAfterMs: toMilliseconds(check.deregisterCriticalServiceAfter, 'deregisterCriticalServiceAfter') ?? null,
    initialStatus: check.status ?? 'CRITICAL',
  };
}

function httpTarget(check: HealthCheck): CheckPlan['target'] {
  let url: URL;
  try {
    url = new URL(check.http!);
  } catch {
    throw badInput(`"${check.http!.slice(0, 100)}" is not a URL.`, { field: 'http' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badInput('An HTTP check URL must be http:// or https://.', { field: 'http' });
  return {
    kind: 'http',
    url: url.toString(),
    method: (check.method ?? 'GET').toUpperCase(),
    headers: { ...check.headers },
    tlsSkipVerify: check.tlsSkipVerify ?? false,
  };
}

function tcpAddress(text: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw badInput(`"${text.slice(0, 100)}" is not "host:port".`, { field: 'tcp' });
  return text;
}

/** One probe: Consul's rules (HTTP 2xx passing, 429 warning, anything else critical; TCP: connected or not). */
export function probe(target: CheckPlan['target'], timeoutMs: number): Promise<ProbeResult> {
  return target.kind === 'http' ? probeHttp(target, timeoutMs) : probeTcp(target.address, timeoutMs);
}

function probeHttp(target: Extract<CheckPlan['target'], { kind: 'http' }>, timeoutMs: number): Promise<ProbeResult> {
  const secure = target.url.startsWith('https:');
  return new Promise((resolve) => {
    const request = (secure ? httpsRequest : httpRequest)(
      target.url,
      {
        method: target.method,
        headers: { 'user-agent': 'Switchboard Health Check', ...target.headers },
        timeout: timeoutMs,
        ...(secure && target.tlsSkipVerify ? { rejectUnauthorized: false } : {}),
      },
      (response) => {
        const code = response.statusCode ?? 0;
        const status = code >= 200 && code < 300 ? 'PASSING' : code === 429 ? 'WARNING' : 'CRITICAL';
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
          // Enough for the output: a large body is not downloaded.
          if (body.length >= OUTPUT_LIMIT) response.destroy();
        });
        const finish = () => resolve({ status, output: cap(`HTTP ${target.method} ${target.url}: ${code} ${response.statusMessage ?? ''} Output: ${body}`) });
        response.on('end', finish).on('close', finish);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ status: 'CRITICAL', output: cap(`HTTP ${target.method} ${target.url}: ${error.message}`) }));
    request.end();
  });
}

function probeTcp(address: string, timeoutMs: number): Promise<ProbeResult> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(address.slice(at + 1)), timeout: timeoutMs });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ status: 'PASSING', output: `TCP connect ${address}: Success` }));
    socket.once('timeout', () => done({ status: 'CRITICAL', output: `TCP connect ${address}: timed out after ${timeoutMs} ms` }));
    socket.once('error', (error) => done({ status: 'CRITICAL', output: cap(`TCP connect ${address}: ${error.message}`) }));
  });
}

function cap(output: string): string {
  return output.length <= OUTPUT_LIMIT ? output : `${output.slice(0, OUTPUT_LIMIT)}…`;
}

/** A check's status as its thresholds make it: Consul's successBeforePassing / failuresBeforeCritical. */
export class CheckState {
  status: CheckStatusValue;
  output = '';
  lastCheck: string | null = null;
  checkCount = 0;
  failureCount = 0;
  /** When the check became critical (for deregisterCriticalServiceAfter). */
  criticalSince: number | null;
  private successes = 0;
  private failures = 0;

  constructor(private readonly plan: CheckPlan) {
    this.status = plan.initialStatus;
    this.criticalSince = plan.initialStatus === 'CRITICAL' ? Date.now() : null;
  }

  /** Records a probe's result; returns whether the status changed. */
  record(result: ProbeResult): boolean {
    this.checkCount += 1;
    this.lastCheck = new Date().toISOString();
    this.output = result.output;
    const before = this.status;
    if (result.status === 'PASSING') {
      this.failures = 0;
      this.successes += 1;
      if (this.successes >= this.plan.successBeforePassing) this.status = 'PASSING';
    } else {
      this.failureCount += 1;
      this.successes = 0;
      this.failures += 1;
      if (result.status === 'WARNING' || this.failures >= this.plan.failuresBeforeCritical) this.status = result.status;
    }
    if (this.status === 'CRITICAL') this.criticalSince ??= Date.now();
    else this.criticalSince = null;
    return this.status !== before;
  }
}

/**
 * Probes a check every interval, the first time right away; `onResult` gets every result. Never two probes at
 * once: the next is scheduled when one ends.
 */
export class CheckRunner {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly plan: CheckPlan,
    private readonly onResult: (result: ProbeResult) => Promise<void>,
  ) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    const result = await probe(this.plan.target, this.plan.timeoutMs);
    if (this.stopped) return;
    await this.onResult(result).catch(() => {});
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.run(), this.plan.intervalMs);
    this.timer.unref();
  }
}
