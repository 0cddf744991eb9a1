import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { isIP, unmapIPv4 } from '../ip.js';
import { jsonProblem } from '../json.js';
import { textFaults } from '../text.js';
import { safeText, semanticVersion } from '../validation.js';
import type { HealthCheckInput } from './check.js';

/** What a client sends to register an instance (optional fields may be null or absent). */
export interface ServiceDefinitionInput {
  /** Defaults to the name (as in Consul): one instance per name unless ids are given. */
  id?: string | null | undefined;
  name: string;
  /** Optional: an instance without a version matches no version range. */
  version?: string | null | undefined;
  /** Defaults to `callerAddress`. */
  address?: string | null | undefined;
  /** Optional: discovery and selection still return the instance; its caller decides the port. */
  port?: number | null | undefined;
  /**
   * The registering client's address as the server's socket sees it (supplied by the
   * transport, not the client): behind a proxy it is the proxy's address.
   */
  callerAddress?: string | null | undefined;
  tags?: readonly string[] | null | undefined;
  metadata?: unknown;
  endpoints?: readonly EndpointInput[] | null | undefined;
  protocols?: readonly string[] | null | undefined;
  weight?: number | null | undefined;
  priority?: number | null | undefined;
  /** Lease length in milliseconds; the instance expires unless heartbeats renew it. */
  ttlMs?: number | null | undefined;
  /** Health checks to add or update along with the instance. */
  healthChecks?: readonly HealthCheckInput[] | null | undefined;
  /** Remove the instance's checks that `healthChecks` does not name (default false: they stay). */
  replaceExistingChecks?: boolean | null | undefined;
}

export interface EndpointInput {
  path: string;
  method: string;
  description?: string | null | undefined;
  parameters?: readonly EndpointParameterInput[] | null | undefined;
  responses?: readonly EndpointResponseInput[] | null | undefined;
}

export interface EndpointParameterInput {
  name: string;
  in: string;
  type?: string | null | undefined;
  required?: boolean | null | undefined;
  description?: string | null | undefined;
}

export interface EndpointResponseInput {
  status: number;
  description?: string | null | undefined;
  schema?: unknown;
}

/** Limits, modelled on Consul's where it has one (metadata: 64 pairs, 128-char keys, 512-char values). */
export const ServiceLimits = {
  idLength: 128,
  nameLength: 128,
  tags: 64,
  tagLength: 128,
  metadataPairs: 64,
  metadataKeyLength: 128,
  metadataValueLength: 512,
  endpoints: 128,
  parametersPerEndpoint: 64,
  responsesPerEndpoint: 32,
  responseSchemaBytes: 16 * 1024,
  endpointsBytes: 256 * 1024,
  protocols: 16,
  maxWeight: 10_000,
  maxPriority: 10_000,
  minTtlMs: 1_000,
  maxTtlMs: 24 * 3_600_000,
} as const;

const IDENTIFIER = /^[A-Za-z0-9]([A-Za-z0-9._:@-]*[A-Za-z0-9])?$/;
const SERVICE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const METADATA_KEY = /^[A-Za-z0-9_.-]+$/;
const PROTOCOL = /^[a-z][a-z0-9+.-]*$/;
const HTTP_METHOD = /^[A-Z]+$/;

/** Free text that may span lines (descriptions), but holds no other control characters. */
const prose = (max: number) => safeText(max, 'line-breaks');

const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

const parameterSchema = z.object({
  name: safeText(128).min(1, 'must not be empty'),
  in: z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(['path', 'query', 'header', 'cookie', 'body'])),
  type: optional(safeText(64)),
  required: optional(z.boolean()),
  description: optional(prose(2048)),
});

const responseSchema = z.object({
  status: z.number().int().min(100, 'must be an HTTP status from 100 to 599').max(599, 'must be an HTTP status from 100 to 599'),
  description: optional(prose(2048)),
  schema: z
    .unknown()
    .optional()
    .superRefine((value, ctx) => {
      const problem = jsonProblem(value ?? null, { maxBytes: ServiceLimits.responseSchemaBytes, maxDepth: 16 });
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
});

const endpointSchema = z.object({
  path: safeText(1024).regex(/^\//, 'must start with "/"'),
  method: z
    .string()
    .transform((value) => value.toUpperCase())
    .pipe(z.string().min(1, 'must not be empty').max(16, 'must be at most 16 characters').regex(HTTP_METHOD, 'must be a method name such as GET')),
  description: optional(prose(2048)),
  parameters: optional(z.array(parameterSchema).max(ServiceLimits.parametersPerEndpoint, `must have at most ${ServiceLimits.parametersPerEndpoint} entries`)),
  responses: optional(z.array(responseSchema).max(ServiceLimits.responsesPerEndpoint, `must have at most ${ServiceLimits.responsesPerEndpoint} entries`)),
});

const metadataSchema = z
  .unknown()
  .optional()
  .transform((value, ctx) => {
    if (value == null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be an object of string values, like {"zone": "eu-1"}' });
      return z.NEVER;
    }
    const entries = Object.entries(value);
    if (entries.length > ServiceLimits.metadataPairs) {
      ctx.addIssue({ code: 'custom', message: `must have at most ${ServiceLimits.metadataPairs} keys` });
      return z.NEVER;
    }
    for (const [key, item] of entries) {
      if (key.length > ServiceLimits.metadataKeyLength || !METADATA_KEY.test(key)) {
        ctx.addIssue({ code: 'custom', message: `key "${key.slice(0, 40)}" must be 1-${ServiceLimits.metadataKeyLength} letters, digits, "_", "." or "-"` });
      } else if (typeof item !== 'string') {
        ctx.addIssue({ code: 'custom', message: `value of "${key}" must be a string` });
      } else if (item.length > ServiceLimits.metadataValueLength) {
        ctx.addIssue({ code: 'custom', message: `value of "${key}" must be at most ${ServiceLimits.metadataValueLength} characters` });
      } else if (textFaults(item).length > 0) {
        ctx.addIssue({ code: 'custom', message: `value of "${key}" must be valid Unicode text without NUL characters` });
      }
    }
    // A plain copy: GraphQL hands object literals over with a null prototype.
    return Object.fromEntries(entries) as Record<string, string>;
  });

const hostSchema = z
  .string()
  .max(253, 'must be at most 253 characters')
  .transform(unmapIPv4)
  .refine((value) => isIP(value) !== 0 || HOST_NAME.test(value), 'must be an IPv4 or IPv6 address or a host name');

/** A service name, as registrations give it (policies and other per-name settings use the same rule). */
export const serviceNameSchema = safeText(ServiceLimits.nameLength)
  .min(1, 'must not be empty')
  .regex(SERVICE_NAME, 'must start and end with a letter or digit and contain only letters, digits, ".", "_" or "-"');

/** A service definition as a client sends it; `parseInput` reports its issues by field. */
export const serviceDefinitionSchema = z.object({
  id: safeText(ServiceLimits.idLength)
    .min(1, 'must not be empty')
    .regex(IDENTIFIER, 'must start and end with a letter or digit and contain only letters, digits, ".", "_", ":", "@" or "-"')
    .nullish(),
  name: serviceNameSchema,
  version: semanticVersion().nullish(),
  address: hostSchema.nullish(),
  port: z.number().int().min(1, 'must be from 1 to 65535').max(65535, 'must be from 1 to 65535').nullish(),
  callerAddress: z.string().nullish(),
  tags: optional(
    z.array(safeText(ServiceLimits.tagLength).min(1, 'must not be empty')).max(ServiceLimits.tags, `must have at most ${ServiceLimits.tags} entries`),
  ),
  metadata: metadataSchema,
  endpoints: optional(z.array(endpointSchema).max(ServiceLimits.endpoints, `must have at most ${ServiceLimits.endpoints} entries`)),
  protocols: optional(
    z
      .array(
        z
          .string()
          .transform((value) => value.toLowerCase())
          .pipe(z.string().min(1).max(32, 'must be at most 32 characters').regex(PROTOCOL, 'must be a protocol name such as http or grpc')),
      )
      .max(ServiceLimits.protocols, `must have at most ${ServiceLimits.protocols} entries`),
  ),
  weight: optional(z.number().int().min(0, 'must not be negative').max(ServiceLimits.maxWeight, `must be at most ${ServiceLimits.maxWeight}`)),
  priority: optional(z.number().int().min(0, 'must not be negative').max(ServiceLimits.maxPriority, `must be at most ${ServiceLimits.maxPriority}`)),
  ttlMs: optional(
    z
      .number()
      .min(ServiceLimits.minTtlMs, `must be at least ${formatDuration(ServiceLimits.minTtlMs)}`)
      .max(ServiceLimits.maxTtlMs, `must be at most ${formatDuration(ServiceLimits.maxTtlMs)}`),
  ),
});
