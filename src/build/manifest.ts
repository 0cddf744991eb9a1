import { z } from 'zod';
import { COMPONENT_TYPES } from '@switchboard/contracts';

/**
 * switchboard.manifest.json: what `switchboard scan` found in a code base, read by `check`, `generate`,
 * `plan` and `apply`. The format is versioned (`manifestVersion`) and documented in docs/manifest.md; its
 * JSON Schema (schemas/switchboard.manifest.schema.json) is generated from this module and committed.
 *
 * This schema is structural (types and shapes, what an editor can check); `validateManifest` adds the
 * registry's own rules for each item (a component's dependency specs, a service's name), every problem
 * reported with its JSON path.
 */
export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = 'switchboard.manifest.json';

/** Where in the source a declaration was found: relative path, 1-based line and column. */
const sourceLocation = z
  .object({ file: z.string(), line: z.number().int().min(1), column: z.number().int().min(1) })
  .strict()
  .describe('Where the declaration is: a path relative to the manifest, 1-based line and column.');

const duration = z.string().describe('A duration such as "10s", "500ms" or "1m".');

const healthCheck = z
  .union([z.object({ http: z.string(), interval: duration.optional(), timeout: duration.optional() }).strict(), z.object({ ttl: duration }).strict()])
  .describe('An HTTP path (or URL) the registry probes, or a TTL lease the SDK renews.');

export const manifestServiceSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().optional(),
    port: z.number().int().min(1).max(65535),
    address: z.string().optional(),
    tags: z.array(z.string()).default([]),
    metadata: z.record(z.string(), z.string()).default({}),
    healthCheck: healthCheck.optional(),
    ephemeral: z.boolean().default(false),
    dependencies: z
      .array(z.object({ service: z.string().min(1), range: z.string().min(1) }).strict())
      .default([])
      .describe('Every service this one needs: `dependsOn` and each `@dependency` field, once each ("*": any version).'),
    dependencyFields: z
      .array(z.object({ field: z.string(), service: z.string() }).strict())
      .default([])
      .describe('Fields decorated with @dependency.'),
    configFields: z
      .array(z.object({ field: z.string(), key: z.string(), default: z.unknown().optional() }).strict())
      .default([])
      .describe("Fields decorated with @config; `default` is the field's initialiser when it is a literal."),
    className: z.string(),
    source: sourceLocation,
  })
  .strict();

export const manifestComponentSchema = z
  .object({
    id: z.string().min(1).describe('The component id; when the source gives none, "<name>@<version>" (or the slug of a display name).'),
    type: z.enum(COMPONENT_TYPES),
    name: z.string().min(1),
    version: z.string().min(1),
    description: z.string().optional(),
    dependencies: z.array(z.string()).default([]).describe('Other components by id or name, optionally with a range: "http-client@^1.2".'),
    metadata: z.record(z.string(), z.unknown()).default({}),
    flows: z
      .array(z.string())
      .default([])
      .describe('The flows this component serves: "checkout", "checkout@^2" (a range of the flow\'s version), or "tag:payments".'),
    provider: z.string().optional().describe('The service whose instances run this component; composition leaves it out while none is passing.'),
    className: z.string().optional(),
    source: sourceLocation.optional(),
  })
  .strict();

export const manifestSchema = z
  .object({
    $schema: z.string().optional(),
    manifestVersion: z.literal(MANIFEST_VERSION),
    project: z
      .string()
      .min(1)
      .optional()
      .describe(
        "What this manifest describes (scan takes package.json's name): `apply` marks what it registers with it, and `--prune` removes only what it marked.",
      ),
    services: z.array(manifestServiceSchema).default([]),
    components: z.array(manifestComponentSchema).default([]),
  })
  .strict()
  .describe('A Switchboard manifest: the services and components a code base declares (docs/manifest.md).');

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestService = z.output<typeof manifestServiceSchema>;
export type ManifestComponent = z.output<typeof manifestComponentSchema>;

/** One problem in a manifest: a JSON path (`$.components[2].version`) and what is wrong there. */
export interface ManifestProblem {
  path: string;
  message: string;
}

/** Renders a zod issue path as a JSON path. */
export function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) =>
      typeof key === 'number' ? `${out}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(String(key)) ? `${out}.${String(key)}` : `${out}[${JSON.stringify(String(key))}]`,
    '$',
  );
}

/** The JSON Schema of the manifest (draft 2020-12), as committed in schemas/. */
export function manifestJsonSchema(): Record<string, unknown> {
  return { $id: 'https://switchboard.dev/schemas/switchboard.manifest.schema.json', ...z.toJSONSchema(manifestSchema, { io: 'input' }) };
}
