import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { safeText } from '../validation.js';
import type { CheckStatusValue } from '../values.js';

/** A check as a client describes it: exactly one of http, tcp, grpc, script or ttl. */
export interface HealthCheckInput {
  id?: string | null | undefined;
  name?: string | null | undefined;
  http?: string | null | undefined;
  method?: string | null | undefined;
  headers?: unknown;
  tlsSkipVerify?: boolean | null | undefined;
  tcp?: string | null | undefined;
  grpc?: string | null | undefined;
  grpcUseTls?: boolean | null | undefined;
  script?: string | null | undefined;
  args?: readonly string[] | null | undefined;
  /** TTL checks: milliseconds an update stays valid. */
  ttlMs?: number | null | undefined;
  intervalMs?: number | null | undefined;
  timeoutMs?: number | null | undefined;
  successBeforePassing?: number | null | undefined;
  failuresBeforeCritical?: number | null | undefined;
  deregisterCriticalAfterMs?: number | null | undefined;
  /** The status a new check starts with (Consul's `Status`); default CRITICAL: nothing is trusted before it passed. */
  status?: CheckStatusValue | null | undefined;
}

export const CheckLimits = {
  minIntervalMs: 1_000,
  maxIntervalMs: 24 * 3_600_000,
  defaultIntervalMs: 10_000,
  minTimeoutMs: 100,
  maxTimeoutMs: 300_000,
  /** Consul's defaults: 10 s for network checks, 30 s for scripts. */
  defaultTimeoutMs: 10_000,
  defaultScriptTimeoutMs: 30_000,
  minTtlMs: 1_000,
  maxTtlMs: 24 * 3_600_000,
  minDeregisterAfterMs: 1_000,
  maxDeregisterAfterMs: 30 * 24 * 3_600_000,
  maxThreshold: 100,
  headers: 32,
  args: 32,
} as const;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const duration = (min: number, max: number) =>
  z
    .number()
    .min(min, `must be at least ${formatDuration(min)}`)
    .max(max, `must be at most ${formatDuration(max)}`)
    .transform(Math.round);

/** A health check as a client sends it; which kind it is, and its target, the registry checks after parsing. */
export const checkSchema = z.object({
  id: safeText(200)
    .min(1)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/, 'must be letters, digits and . _ : @ / -')
    .nullish(),
  name: safeText(128).min(1, 'must not be empty').nullish(),
  http: z.string().max(2048, 'must be at most 2048 characters').nullish(),
  method: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/, 'must be a method name such as GET')
    .nullish(),
  headers: z
    .record(z.string().regex(HEADER_NAME, 'must be a header name').max(128), safeText(1024))
    .refine((headers) => Object.keys(headers).length <= CheckLimits.headers, `must have at most ${CheckLimits.headers} entries`)
    .nullish(),
  tlsSkipVerify: z.boolean().nullish(),
  tcp: z.string().max(300).nullish(),
  grpc: z.string().max(600).nullish(),
  grpcUseTls: z.boolean().nullish(),
  script: safeText(1024).min(1, 'must not be empty').nullish(),
  args: z.array(safeText(1024)).max(CheckLimits.args, `must have at most ${CheckLimits.args} entries`).nullish(),
  ttlMs: duration(CheckLimits.minTtlMs, CheckLimits.maxTtlMs).nullish(),
  intervalMs: duration(CheckLimits.minIntervalMs, CheckLimits.maxIntervalMs).nullish(),
  timeoutMs: duration(CheckLimits.minTimeoutMs, CheckLimits.maxTimeoutMs).nullish(),
  successBeforePassing: z.number().int().min(0).max(CheckLimits.maxThreshold).nullish(),
  failuresBeforeCritical: z.number().int().min(0).max(CheckLimits.maxThreshold).nullish(),
  deregisterCriticalAfterMs: duration(CheckLimits.minDeregisterAfterMs, CheckLimits.maxDeregisterAfterMs).nullish(),
  status: z.enum(['PASSING', 'WARNING', 'CRITICAL'], { error: 'must be PASSING, WARNING or CRITICAL' }).nullish(),
});
