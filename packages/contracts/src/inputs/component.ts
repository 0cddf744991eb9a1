import semver from 'semver';
import { z } from 'zod';
import { quoteInput, textFaults } from '../text.js';
import { jsonObject, safeText, semanticVersion } from '../validation.js';
import { serviceNameSchema } from './service.js';
import { COMPONENT_TYPES, type ComponentTypeValue } from '../values.js';

export interface ComponentInput {
  /**
   * Defaults to "<name>@<version>", so each version of a name is its own component;
   * for a display name, its slug and version: "Custom API Step" 1.0.0 -> "custom-api-step-1.0.0".
   */
  id?: string | null | undefined;
  type: string;
  /** A display name ("Custom API Step") or a package-like name ("http-client"). */
  name: string;
  version: string;
  description?: string | null | undefined;
  /** A component id or name, optionally with a range: "http-client@^1.2", "custom-api-step-v1". */
  dependencies?: readonly string[] | null | undefined;
  metadata?: unknown;
  /**
   * The flows this component declares it serves (STEP, TRANSFORMER, VALIDATOR, MIDDLEWARE):
   * "checkout" (any version), "checkout@^2" (a range of the flow's version), "tag:payments"
   * (any flow whose FLOW component carries that tag in `metadata.tags`).
   */
  flows?: readonly string[] | null | undefined;
  /** The service whose instances run this component (a service name); composition leaves it out while none passes. */
  provider?: string | null | undefined;
}

/** A dependency as parsed from "reference" or "reference@range" ("*": any version). */
export interface DependencySpec {
  name: string;
  range: string;
}

export const ComponentLimits = {
  idLength: 200,
  nameLength: 128,
  descriptionLength: 4096,
  dependencies: 64,
  metadataBytes: 64 * 1024,
  metadataDepth: 16,
  flows: 64,
} as const;

/** npm-like names, scopes allowed: "http-client", "CustomAPIStep", "@acme/retry". Their default id is "name@version". */
export const COMPONENT_NAME = /^(@[A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMPONENT_ID = /^[A-Za-z0-9@][A-Za-z0-9._:@/+-]*$/;
/**
 * What a dependency names: a component id or a package-like name ("http-client",
 * "custom-api-step-v1", "@acme/retry"). No spaces and no "@" after a scope (it starts
 * the range), so a component with a display name is depended on by its id.
 */
const DEPENDENCY_REFERENCE = /^(@[A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._:/+-]*$/;

/** A display name: any printable text ("Custom API Step", "Geschäftslogik"), length-capped. */
const displayName = z
  .string()
  .min(1, 'must not be empty')
  .max(ComponentLimits.nameLength, `must be at most ${ComponentLimits.nameLength} characters`)
  .superRefine((value, ctx) => {
    const faults = textFaults(value, 'printable');
    if (faults.includes('invalid-unicode')) ctx.addIssue({ code: 'custom', message: 'must be valid Unicode text' });
    if (faults.includes('nul') || faults.includes('control')) {
      ctx.addIssue({ code: 'custom', message: 'must be printable text (no control, format or unassigned characters)' });
    }
  })
  // "Custom API Step " and "Custom API Step" would list as one name and resolve as two.
  .refine((value) => value.trim() === value, 'must not start or end with whitespace (nor be blank)');

/**
 * The default id: "name@version" for a package-like name (as before display names
 * existed; a dependency "name@version" finds it by name), else the name's slug and
 * version joined by "-" ("Custom API Step" 1.0.0 -> "custom-api-step-1.0.0"): a
 * display name cannot appear in a dependency and "@" would start a range there, so
 * that id must be writable as a dependency on its own. Undefined when the name has
 * no letters or digits to make a slug from.
 */
export function defaultComponentId(name: string, version: string): string | undefined {
  if (COMPONENT_NAME.test(name)) return `${name}@${version}`;
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return slug === '' ? undefined : `${slug}-${version}`;
}

/** Parses "reference" or "reference@range" (reference: a component id or name); undefined when it is neither. */
export function parseDependencySpec(spec: string): DependencySpec | undefined {
  const at = spec.indexOf('@', 1); // a leading "@" starts a scope, not a range
  const name = at < 0 ? spec : spec.slice(0, at);
  const rawRange = at < 0 ? '*' : spec.slice(at + 1).trim();
  if (!DEPENDENCY_REFERENCE.test(name) || name.length > ComponentLimits.idLength) return undefined;
  const range = rawRange.length <= 256 ? semver.validRange(rawRange) : null;
  if (range === null || rawRange === '') return undefined;
  return { name, range: rawRange === '*' ? '*' : rawRange };
}

/** A flow a component declares it serves, as parsed from "flow", "flow@range" or "tag:tag". */
export type FlowDeclaration = { kind: 'flow'; flow: string; range: string } | { kind: 'tag'; tag: string };

/** What names a flow: a FLOW component's id or package-like name ("checkout", "user-registration-flow-v1"). */
export const FLOW_NAME = DEPENDENCY_REFERENCE;
const FLOW_TAG = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/** Parses one entry of `flows`; undefined when it is none of "flow", "flow@range", "tag:tag". */
export function parseFlowDeclaration(spec: string): FlowDeclaration | undefined {
  if (spec.startsWith('tag:')) {
    const tag = spec.slice(4);
    return FLOW_TAG.test(tag) && tag.length <= 128 ? { kind: 'tag', tag } : undefined;
  }
  const parsed = parseDependencySpec(spec);
  return parsed ? { kind: 'flow', flow: parsed.name, range: parsed.range } : undefined;
}

/** A FLOW component's name as an argument ("checkout"): the same characters a dependency may name. */
export function isFlowName(name: string): boolean {
  return name.length > 0 && name.length <= ComponentLimits.idLength && FLOW_NAME.test(name);
}

/** A component as a client sends it, with its id defaulted and its dependencies parsed. */
export const componentSchema = z
  .object({
    id: safeText(ComponentLimits.idLength).min(1, 'must not be empty').regex(COMPONENT_ID, 'must be letters, digits and . _ : @ / + -').nullish(),
    type: z.string().refine((value): value is ComponentTypeValue => (COMPONENT_TYPES as readonly string[]).includes(value), {
      message: `must be one of ${COMPONENT_TYPES.join(', ')}`,
    }),
    name: displayName,
    version: semanticVersion(),
    description: z
      .string()
      .max(ComponentLimits.descriptionLength, `must be at most ${ComponentLimits.descriptionLength} characters`)
      .refine((value) => textFaults(value).length === 0, 'must be valid Unicode text without NUL characters')
      .nullish(),
    dependencies: z
      .array(
        z.string().transform((spec, ctx) => {
          const parsed = parseDependencySpec(spec);
          if (!parsed) {
            ctx.addIssue({
              code: 'custom',
              message: `${quoteInput(spec)} is not a component id or name, optionally with "@range" (e.g. "http-client@^1.2", "custom-api-step-v1")`,
            });
            return z.NEVER;
          }
          return parsed;
        }),
      )
      .max(ComponentLimits.dependencies, `must have at most ${ComponentLimits.dependencies} entries`)
      .nullish(),
    metadata: jsonObject({ maxBytes: ComponentLimits.metadataBytes, maxDepth: ComponentLimits.metadataDepth }),
    flows: z
      .array(
        z.string().refine((spec) => parseFlowDeclaration(spec) !== undefined, {
          // A bad range here would make the component silently serve no flow: refuse it.
          message: 'must be "flow", "flow@range" (a semver range of the flow\'s version) or "tag:tag" (e.g. "checkout@^2", "tag:payments")',
        }),
      )
      .max(ComponentLimits.flows, `must have at most ${ComponentLimits.flows} entries`)
      .refine((flows) => new Set(flows).size === flows.length, 'must not name a flow twice')
      .nullish(),
    provider: serviceNameSchema.nullish(),
  })
  .transform((input, ctx) => {
    const id = input.id ?? defaultComponentId(input.name, input.version);
    if (id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'is required: the name has no letters or digits to derive one from' });
      return z.NEVER;
    }
    const names = (input.dependencies ?? []).map((dependency) => dependency.name);
    if (names.includes(input.name) || names.includes(id)) {
      ctx.addIssue({ code: 'custom', path: ['dependencies'], message: 'must not name the component itself' });
    }
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate) ctx.addIssue({ code: 'custom', path: ['dependencies'], message: `name ${quoteInput(duplicate)} twice` });
    return { ...input, id };
  });
