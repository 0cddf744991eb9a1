import { parseDependencySpec, type ComponentTypeValue } from '@switchboard/contracts';
import type { ComponentInput } from '@switchboard/client';
import { readJsonFile, type JsonFileLimits } from './read-json.js';
import { jsonPath, manifestSchema, validateManifest, type Manifest, type ManifestComponent, type ManifestProblem } from './manifest.js';
import { registrationOrder, removalOrder, type OrderNode } from './order.js';
import type { LiveComponent, LiveState } from './live.js';

/**
 * `switchboard plan`: what applying a manifest would change in the live registry, computed from the
 * manifest and a read of the registry (live.ts) with no I/O of its own, so `plan` and `apply` agree.
 *
 * - Components are added, changed field by field, and (with prune) removed — only those this
 *   manifest's project marked when it applied them (MANIFEST_MARKER in their metadata).
 * - Configuration defaults are set only where a key has no value: operators own live values.
 * - Services register themselves at run time (the SDK's `start()`); they are reported, never written.
 */

/** The metadata key `apply` marks a component with: the manifest's project. Not compared as metadata. */
export const MANIFEST_MARKER = 'switchboard.manifest';

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export type ComponentPlan =
  | { action: 'add'; id: string; input: ComponentInput }
  | { action: 'change'; id: string; input: ComponentInput; changes: FieldChange[] }
  | { action: 'remove'; id: string; type: ComponentTypeValue; name: string; version: string };

export interface ConfigDefaultPlan {
  key: string;
  default: unknown;
  /** set: the key has no value; keep: it has one, which apply leaves alone. */
  action: 'set' | 'keep';
  /** The services declaring it. */
  services: string[];
  /** The live global value, when there is one (value null when secret and withheld). */
  live: { version: number; value: unknown; redacted: boolean } | null;
}

export interface ServiceReport {
  name: string;
  declaredVersion: string | null;
  instances: number;
  /** Distinct versions of the live instances ("" for an instance without one is left out). */
  liveVersions: string[];
}

export interface Plan {
  project: string | null;
  prune: boolean;
  /** In the order apply writes them: additions and changes dependencies first, then removals dependents first. */
  components: ComponentPlan[];
  /** Manifest components already registered as declared. */
  unchanged: string[];
  config: ConfigDefaultPlan[];
  services: ServiceReport[];
  /** Things worth knowing that change nothing: a dependency cycle, a null default. */
  notes: string[];
  summary: { add: number; change: number; remove: number; configDefaults: number };
}

export interface PlanOptions {
  prune: boolean;
}

/**
 * Rules of applying that the manifest's schema does not know: the marker key is apply's own, and two
 * services giving one key different defaults leave nothing to set. Every problem at its JSON path.
 */
export function planProblems(manifest: Manifest): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  manifest.components.forEach((component, index) => {
    if (Object.hasOwn(component.metadata, MANIFEST_MARKER)) {
      problems.push({
        path: jsonPath(['components', index, 'metadata', MANIFEST_MARKER]),
        message: `"${MANIFEST_MARKER}" is reserved: apply sets it to the manifest's project`,
      });
    }
  });
  const firstDefault = new Map<string, { value: unknown; at: string }>();
  manifest.services.forEach((service, serviceIndex) =>
    service.configFields.forEach((field, fieldIndex) => {
      if (field.default === undefined) return;
      const at = jsonPath(['services', serviceIndex, 'configFields', fieldIndex, 'default']);
      const seen = firstDefault.get(field.key);
      if (!seen) firstDefault.set(field.key, { value: field.default, at });
      else if (!sameJson(seen.value, field.default))
        problems.push({ path: at, message: `key "${field.key}" has another default at ${seen.at}: declare one default per key` });
    }),
  );
  return problems;
}

/**
 * What `plan` and `apply` read whole before sending anything: a manifest of thousands of components is a
 * few MB; 64 levels is well past the 16 that metadata may nest (manifest.ts).
 */
const MANIFEST_FILE_LIMITS: JsonFileLimits = { what: 'a manifest', maxBytes: 16 * 1024 * 1024, maxDepth: 64 };

/**
 * Reads a manifest to plan (read-json.ts's limits, then manifest.ts's validation) and checks apply's own rules too. Every problem is
 * reported at once: apply's rules run even when the registry's found problems, unless the manifest has not
 * the shapes they need (a structurally invalid one gets the structural problems only).
 */
export function readManifestToApply(file: string): { manifest: Manifest } | { problems: ManifestProblem[] } {
  const read = readJsonFile(file, MANIFEST_FILE_LIMITS);
  if ('problem' in read) return { problems: [{ path: '$', message: read.problem }] };
  const validated = validateManifest(read.value);
  if ('manifest' in validated) {
    const problems = planProblems(validated.manifest);
    return problems.length > 0 ? { problems } : validated;
  }
  const structural = manifestSchema.safeParse(read.value);
  return { problems: [...validated.problems, ...(structural.success ? planProblems(structural.data) : [])] };
}

/** The plan for `manifest` against `live` (see the module comment). */
export function planManifest(manifest: Manifest, live: LiveState, options: PlanOptions): Plan {
  const project = manifest.project ?? null;
  const notes: string[] = [];
  const liveById = new Map(live.components.map((component) => [component.id, component]));

  const registrations = new Map<string, ComponentPlan>();
  const unchanged: string[] = [];
  for (const component of manifest.components) {
    const existing = liveById.get(component.id);
    const input = registrationInput(component, project, existing);
    if (!existing) {
      registrations.set(component.id, { action: 'add', id: component.id, input });
      continue;
    }
    const changes = fieldChanges(component, existing, project);
    if (changes.length === 0) unchanged.push(component.id);
    else registrations.set(component.id, { action: 'change', id: component.id, input, changes });
  }

  // Ordered over the whole manifest (an unchanged dependency still orders its dependents), then filtered.
  const registered = registrationOrder(manifest.components.map(manifestNode));
  for (const cycle of registered.cycles) notes.push(`dependency cycle ${cycle.join(' -> ')}: one of them is registered before its dependency`);
  const components: ComponentPlan[] = registered.order.flatMap((id) => registrations.get(id) ?? []);

  if (options.prune) {
    const declared = new Set(manifest.components.map((component) => component.id));
    const removable = live.components.filter((component) => project !== null && component.metadata[MANIFEST_MARKER] === project && !declared.has(component.id));
    const removed = removalOrder(removable.map(liveNode));
    const removableById = new Map(removable.map((component) => [component.id, component]));
    for (const id of removed.order) {
      const { type, name, version } = removableById.get(id)!;
      components.push({ action: 'remove', id, type, name, version });
    }
  }

  const config = configDefaults(manifest, live, notes);
  const services = manifest.services.map((service): ServiceReport => {
    const instances = live.services.get(service.name) ?? [];
    const versions = [...new Set(instances.map((instance) => instance.version).filter((version): version is string => Boolean(version)))].sort();
    return { name: service.name, declaredVersion: service.version ?? null, instances: instances.length, liveVersions: versions };
  });

  const count = (action: ComponentPlan['action']) => components.filter((component) => component.action === action).length;
  return {
    project,
    prune: options.prune,
    components,
    unchanged,
    config,
    services,
    notes,
    summary: { add: count('add'), change: count('change'), remove: count('remove'), configDefaults: config.filter((entry) => entry.action === 'set').length },
  };
}

/** Whether applying the plan would write anything. */
export function hasChanges(plan: Plan): boolean {
  return plan.components.length > 0 || plan.summary.configDefaults > 0;
}

/**
 * What registerComponent is sent: the manifest's declaration, marked with the project. A manifest
 * without a project keeps a marker the live component has, so it never disowns another manifest's.
 */
function registrationInput(component: ManifestComponent, project: string | null, existing: LiveComponent | undefined): ComponentInput {
  const marker = project ?? existing?.metadata[MANIFEST_MARKER];
  return {
    id: component.id,
    type: component.type,
    name: component.name,
    version: component.version,
    description: component.description ?? null,
    dependencies: component.dependencies,
    metadata: marker === undefined ? component.metadata : { ...component.metadata, [MANIFEST_MARKER]: marker },
    flows: component.flows,
    provider: component.provider ?? null,
  };
}

/**
 * Field by field, in the server's normal form (versions normalised by the manifest's validation,
 * dependencies as the server spells them). The marker is no field, but another project's marker on a
 * component this manifest declares is shown as `owner`: applying takes the component over.
 */
function fieldChanges(component: ManifestComponent, live: LiveComponent, project: string | null): FieldChange[] {
  const changes: FieldChange[] = [];
  const compare = (field: string, from: unknown, to: unknown) => {
    if (!sameJson(from, to)) changes.push({ field, from, to });
  };
  compare('type', live.type, component.type);
  compare('name', live.name, component.name);
  compare('version', live.version, component.version);
  compare('description', live.description, component.description ?? null);
  compare(
    'dependencies',
    live.dependencies.map((dependency) => dependency.spec),
    component.dependencies.map(normalSpec),
  );
  compare('metadata', withoutMarker(live.metadata), withoutMarker(component.metadata));
  compare('flows', live.flows, component.flows);
  compare('provider', live.provider, component.provider ?? null);
  const owner = live.metadata[MANIFEST_MARKER];
  if (project !== null && owner !== undefined && owner !== project) changes.push({ field: 'owner', from: owner, to: project });
  return changes;
}

function configDefaults(manifest: Manifest, live: LiveState, notes: string[]): ConfigDefaultPlan[] {
  const byKey = new Map<string, ConfigDefaultPlan>();
  for (const service of manifest.services) {
    for (const field of service.configFields) {
      if (field.default === undefined) continue;
      if (field.default === null) {
        notes.push(`${service.name}.${field.field}: a default of null is not stored (a key without a value reads as absent)`);
        continue;
      }
      const entry = byKey.get(field.key);
      if (entry) {
        if (!entry.services.includes(service.name)) entry.services.push(service.name);
        continue;
      }
      const current = live.config.get(field.key) ?? null;
      byKey.set(field.key, { key: field.key, default: field.default, action: current ? 'keep' : 'set', services: [service.name], live: current });
    }
  }
  return [...byKey.values()];
}

/** "http-client@*" and "http-client" are one dependency: the server stores and prints the latter. */
function normalSpec(spec: string): string {
  const parsed = parseDependencySpec(spec);
  if (!parsed) return spec;
  return parsed.range === '*' ? parsed.name : `${parsed.name}@${parsed.range}`;
}

function withoutMarker(metadata: Record<string, unknown>): Record<string, unknown> {
  const { [MANIFEST_MARKER]: _marker, ...rest } = metadata;
  return rest;
}

function manifestNode(component: ManifestComponent): OrderNode {
  return { id: component.id, name: component.name, version: component.version, dependencies: component.dependencies.map((spec) => parseDependencySpec(spec)!) };
}

function liveNode(component: LiveComponent): OrderNode {
  return { id: component.id, name: component.name, version: component.version, dependencies: component.dependencies };
}

/** JSON equality with object keys in any order (PostgreSQL's jsonb does not keep the order they were written in). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
