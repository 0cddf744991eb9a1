import semver from 'semver';
import { z } from 'zod';
import { badInput } from './errors.js';

/**
 * Shared building blocks for input validation. Domain functions validate their own
 * inputs (the API layer may be GraphQL today and something else tomorrow) and
 * report every problem at once, with the path of the offending field.
 */

/** Text PostgreSQL can store and a terminal can show: well-formed UTF-16, no control characters. */
export const safeText = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((value) => value.isWellFormed(), 'must be valid Unicode text')
    // eslint-disable-next-line no-control-regex
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');

/** A semantic version ("1.4.2"; a leading "v" is accepted), normalised. */
export const semanticVersion = () =>
  z
    .string()
    .max(64, 'must be at most 64 characters')
    .transform((value, ctx) => {
      const normalized = semver.valid(value);
      if (!normalized) {
        ctx.addIssue({ code: 'custom', message: `"${value.slice(0, 64)}" is not a semantic version such as 1.4.2` });
        return z.NEVER;
      }
      return normalized;
    });

/** An optional JSON object (absent: `{}`), size- and depth-capped, copied to a plain object. */
export const jsonObject = (limits: JsonLimits) =>
  z
    .unknown()
    .optional()
    .transform((value, ctx) => {
      if (value == null) return {};
      if (typeof value !== 'object' || Array.isArray(value)) {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
        return z.NEVER;
      }
      const problem = jsonProblem(value, limits);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      // A plain copy: GraphQL hands object literals over with a null prototype.
      return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
    });

/** Parses with a zod schema; failures become one BAD_USER_INPUT naming every bad field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string, fieldNames: Record<string, string> = {}): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 20).map((issue) => {
    const path = issue.path.map(String);
    // Report fields by the names the client used, where the domain's differ (ttlMs -> ttl).
    if (path[0] !== undefined && fieldNames[path[0]]) path[0] = fieldNames[path[0]]!;
    return { field: path.join('.') || '(input)', message: issue.message };
  });
  const summary = issues.map((issue) => `${issue.field} ${issue.message}`).join('; ');
  return fail(`Invalid ${what}: ${summary}.`, issues);
}

function fail(message: string, issues: { field: string; message: string }[]): never {
  throw badInput(message, { issues });
}

export interface JsonLimits {
  maxBytes: number;
  maxDepth: number;
}

/**
 * Checks a free-form JSON value before it reaches a jsonb column: bounded size and
 * nesting, and only strings PostgreSQL accepts (jsonb rejects NUL characters and
 * unpaired surrogates; letting them through would turn bad input into a 500).
 * Returns a problem description, or undefined when the value is fine.
 */
export function jsonProblem(value: unknown, limits: JsonLimits): string | undefined {
  const problem = walk(value, 0, limits.maxDepth);
  if (problem) return problem;
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > limits.maxBytes) return `is ${bytes} bytes of JSON; the limit is ${limits.maxBytes}`;
  return undefined;
}

function walk(value: unknown, depth: number, maxDepth: number): string | undefined {
  if (depth > maxDepth) return `nests deeper than ${maxDepth} levels`;
  if (typeof value === 'string') return stringProblem(value);
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'contains a non-finite number';
  if (value === null || typeof value === 'boolean') return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = walk(item, depth + 1, maxDepth);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const problem = stringProblem(key) ?? walk(item, depth + 1, maxDepth);
      if (problem) return problem;
    }
    return undefined;
  }
  return `contains a value of type ${typeof value}, which JSON cannot hold`;
}

function stringProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (!text.isWellFormed()) return 'contains invalid Unicode (an unpaired surrogate)';
  return undefined;
}
