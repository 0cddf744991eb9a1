import { readFileSync } from 'node:fs';
import semver from 'semver';
import { z } from 'zod';
import { COMPONENT_TYPES, componentSchema, parseDuration, serviceDefinitionSchema, serviceNameSchema, validateKey } from '@switchboard/contracts';

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

/**
 * Reads a manifest: the structural schema first (so every later rule sees the right shapes), then the
 * registry's own rules for each item, the same schemas the server validates a registration with. Every
 * problem is reported, each at its JSON path; the manifest comes back only when there is none.
 */
export function validateManifest(value: unknown): { manifest: Manifest } | { problems: ManifestProblem[] } {
  const structural = manifestSchema.safeParse(value);
  if (!structural.success) return { problems: structural.error.issues.map((issue) => ({ path: jsonPath(issue.path), message: issue.message })) };
  const manifest = structural.data;
  const problems: ManifestProblem[] = [];
  const services = manifest.services.map((service, index) => checkService(service, ['services', index], problems));
  const components = manifest.components.map((component, index) => checkComponent(component, ['components', index], problems));
  duplicates(manifest.services, (service) => service.name, 'services', 'a service named', problems);
  duplicates(manifest.components, (component) => component.id, 'components', 'a component with id', problems);
  return problems.length > 0 ? { problems } : { manifest: { ...manifest, services, components } };
}

/** Reads and validates a manifest file; a file that cannot be read or is not JSON is a problem at `$`. */
export function readManifest(path: string): { manifest: Manifest } | { problems: ManifestProblem[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { problems: [{ path: '$', message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problems: [{ path: '$', message: `${path} is not JSON: ${(error as Error).message}` }] };
  }
  return validateManifest(value);
}

/** A service through the registry's rules (the SDK's @service runs the same), its version normalised as the server stores it. */
function checkService(service: ManifestService, at: PropertyKey[], problems: ManifestProblem[]): ManifestService {
  const { name, version, port, address, tags, metadata } = service;
  const parsed = serviceDefinitionSchema.safeParse({ name, version, port, address, tags, metadata });
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push({ path: jsonPath([...at, ...issue.path]), message: issue.message });
  const check = service.healthCheck;
  if (check && 'ttl' in check) {
    if (service.ephemeral)
      problems.push({ path: jsonPath([...at, 'healthCheck', 'ttl']), message: 'an ephemeral service is kept by its connection, not a lease' });
  } else if (check && !/^\/|^https?:\/\//.test(check.http)) {
    problems.push({ path: jsonPath([...at, 'healthCheck', 'http']), message: 'must be a path on the service ("/healthz") or an http(s) URL' });
  }
  for (const [key, text] of Object.entries(check ?? {})) {
    if (key !== 'http' && parseDuration(String(text)) === undefined) {
      problems.push({ path: jsonPath([...at, 'healthCheck', key]), message: `must be a duration like "250ms", "30s" or "5m"; got ${JSON.stringify(text)}` });
    }
  }
  service.dependencies.forEach((dependency, index) => {
    if (!serviceNameSchema.safeParse(dependency.service).success) {
      problems.push({ path: jsonPath([...at, 'dependencies', index, 'service']), message: `${JSON.stringify(dependency.service)} is not a service name` });
    }
    if (semver.validRange(dependency.range) === null) {
      problems.push({ path: jsonPath([...at, 'dependencies', index, 'range']), message: `${JSON.stringify(dependency.range)} is not a semver range` });
    }
  });
  service.dependencyFields.forEach((field, index) => {
    if (!service.dependencies.some((dependency) => dependency.service === field.service)) {
      problems.push({ path: jsonPath([...at, 'dependencyFields', index, 'service']), message: `"${field.service}" is not in the service's dependencies` });
    }
  });
  service.configFields.forEach((field, index) => {
    try {
      validateKey(field.key);
    } catch (error) {
      problems.push({ path: jsonPath([...at, 'configFields', index, 'key']), message: (error as Error).message });
    }
  });
  return parsed.success && parsed.data.version ? { ...service, version: parsed.data.version } : service;
}

/** A component through contracts' componentSchema, as registerComponent runs it (its flows and provider too). */
function checkComponent(component: ManifestComponent, at: PropertyKey[], problems: ManifestProblem[]): ManifestComponent {
  const { id, type, name, version, description, dependencies, metadata, flows, provider } = component;
  const parsed = componentSchema.safeParse({ id, type, name, version, description, dependencies, metadata, flows, provider });
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push({ path: jsonPath([...at, ...issue.path]), message: issue.message });
  return parsed.success ? { ...component, version: parsed.data.version } : component;
}

function duplicates<T>(items: readonly T[], key: (item: T) => string, list: string, what: string, problems: ManifestProblem[]): void {
  const first = new Map<string, number>();
  items.forEach((item, index) => {
    const seen = first.get(key(item));
    if (seen === undefined) first.set(key(item), index);
    else problems.push({ path: jsonPath([list, index]), message: `${what} "${key(item)}" is declared twice (also at ${jsonPath([list, seen])})` });
  });
}
