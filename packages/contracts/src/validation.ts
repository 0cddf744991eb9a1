import semver from 'semver';
import { z } from 'zod';
import { badInput } from './errors.js';
import { jsonProblem, type JsonLimits } from './json.js';
import { textFaults, type ControlCharacters } from './text.js';

/**
 * Shared building blocks for input validation. Domain functions validate their own
 * inputs (the API layer may be GraphQL today and something else tomorrow) and
 * report every problem at once, with the path of the offending field.
 */

/**
 * Text PostgreSQL can store and a terminal can show: well-formed UTF-16, no control characters
 * (descriptions pass `'line-breaks'` to keep tabs and line breaks).
 */
export const safeText = (max: number, controls: Exclude<ControlCharacters, 'any' | 'printable'> = 'none') =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, ctx) => {
      const faults = textFaults(value, controls);
      if (faults.includes('invalid-unicode')) ctx.addIssue({ code: 'custom', message: 'must be valid Unicode text' });
      if (faults.includes('nul') || faults.includes('control')) {
        ctx.addIssue({ code: 'custom', message: 'must not contain control characters' });
      }
    });

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
