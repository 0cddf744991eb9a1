import semver from 'semver';
import { z } from 'zod';
import type { ComponentDependencyRecord } from '../../db/schema.js';
import { jsonObject, parseInput, safeText, semanticVersion } from '../../validation.js';
import { COMPONENT_TYPES, type ComponentType } from './model.js';

export interface ComponentInput {
  /** Defaults to "<name>@<version>", so each version of a name is its own component. */
  id?: string | null | undefined;
  type: string;
  name: string;
  version: string;
  description?: string | null | undefined;
  /** "name" or "name@range", e.g. "http-client@^1.2". */
  dependencies?: readonly string[] | null | undefined;
  metadata?: unknown;
}

export interface ComponentDefinition {
  id: string;
  type: ComponentType;
  name: string;
  version: string;
  description: string | null;
  dependencies: ComponentDependencyRecord[];
  dependencyNames: string[];
  metadata: Record<string, unknown>;
}

export const ComponentLimits = {
  idLength: 200,
  nameLength: 128,
  descriptionLength: 4096,
  dependencies: 64,
  metadataBytes: 64 * 1024,
  metadataDepth: 16,
} as const;

/** npm-like names, scopes allowed: "http-client", "CustomAPIStep", "@acme/retry". */
export const COMPONENT_NAME = /^(@[A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMPONENT_ID = /^[A-Za-z0-9@][A-Za-z0-9._:@/+-]*$/;

const componentName = safeText(ComponentLimits.nameLength)
  .min(1, 'must not be empty')
  .regex(COMPONENT_NAME, 'must be a name like "http-client", "CustomAPIStep" or "@scope/name"');

/** Parses "name" or "name@range"; undefined when it is neither. */
export function parseDependencySpec(spec: string): ComponentDependencyRecord | undefined {
  const at = spec.indexOf('@', 1); // a leading "@" starts a scope, not a range
  const name = at < 0 ? spec : spec.slice(0, at);
  const rawRange = at < 0 ? '*' : spec.slice(at + 1).trim();
  if (!COMPONENT_NAME.test(name) || name.length > ComponentLimits.nameLength) return undefined;
  const range = rawRange.length <= 256 ? semver.validRange(rawRange) : null;
  if (range === null || rawRange === '') return undefined;
  return { name, range: rawRange === '*' ? '*' : rawRange };
}

const definitionSchema = z
  .object({
    id: safeText(ComponentLimits.idLength).min(1, 'must not be empty').regex(COMPONENT_ID, 'must be letters, digits and . _ : @ / + -').nullish(),
    type: z.string().refine((value): value is ComponentType => (COMPONENT_TYPES as readonly string[]).includes(value), {
      message: `must be one of ${COMPONENT_TYPES.join(', ')}`,
    }),
    name: componentName,
    version: semanticVersion(),
    description: z
      .string()
      .max(ComponentLimits.descriptionLength, `must be at most ${ComponentLimits.descriptionLength} characters`)
      .refine((value) => value.isWellFormed() && !value.includes('\u0000'), 'must be valid Unicode text without NUL characters')
      .nullish(),
    dependencies: z
      .array(
        z.string().transform((spec, ctx) => {
          const parsed = parseDependencySpec(spec);
          if (!parsed) {
            ctx.addIssue({ code: 'custom', message: `"${spec.slice(0, 80)}" is not "name" or "name@range" (e.g. "http-client@^1.2")` });
            return z.NEVER;
          }
          return parsed;
        }),
      )
      .max(ComponentLimits.dependencies, `must have at most ${ComponentLimits.dependencies} entries`)
      .nullish(),
    metadata: jsonObject({ maxBytes: ComponentLimits.metadataBytes, maxDepth: ComponentLimits.metadataDepth }),
  })
  .superRefine((input, ctx) => {
    const names = (input.dependencies ?? []).map((dependency) => dependency.name);
    if (names.includes(input.name)) ctx.addIssue({ code: 'custom', path: ['dependencies'], message: 'must not name the component itself' });
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate) ctx.addIssue({ code: 'custom', path: ['dependencies'], message: `name "${duplicate}" twice` });
  });

export function parseComponentDefinition(input: ComponentInput): ComponentDefinition {
  const parsed = parseInput(definitionSchema, input, 'component');
  const dependencies = parsed.dependencies ?? [];
  return {
    id: parsed.id ?? `${parsed.name}@${parsed.version}`,
    type: parsed.type,
    name: parsed.name,
    version: parsed.version,
    description: parsed.description ?? null,
    dependencies,
    dependencyNames: dependencies.map((dependency) => dependency.name),
    metadata: parsed.metadata,
  };
}
