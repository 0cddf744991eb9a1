/**
 * Dynamic flow composition (the Go seed's `CreateDynamicFlow` and `isCompatible`), as one pure
 * function over a catalog already loaded, so the server's `composeFlow` and the SDK's compute the
 * same answer for the same components and provider health.
 *
 * Which components fit a flow:
 * - the steps its FLOW component declares (metadata `steps`, in that order), by name or id,
 *   optionally "name@range";
 * - the components `requirements.require` names ("name@range");
 * - every STEP, TRANSFORMER, VALIDATOR and MIDDLEWARE (or `requirements.types`) whose `flows`
 *   declare this flow: "checkout", "checkout@^2" (a range of the flow's version), "tag:payments".
 *
 * Each name is resolved to one version: the highest that fits and whose dependencies resolve
 * (one version per name across the whole composition, dependencies included), then everything
 * is ordered dependencies first. Every candidate left out is reported with a reason.
 */
import semver from 'semver';
import { z } from 'zod';
import { COMPONENT_TYPES, type ComponentDependencyRecord, type ComponentTypeValue } from './values.js';
import { badInput } from './errors.js';
import { quoteInput } from './text.js';
import { isFlowName, parseDependencySpec, parseFlowDeclaration, type DependencySpec } from './inputs/component.js';
import { parseInput } from './validation.js';

/** What composition reads of a component (the server's Component and the SDK's, converted, both fit). */
export interface ComposableComponent {
  id: string;
  type: ComponentTypeValue;
  name: string;
  version: string;
  dependencies: readonly ComponentDependencyRecord[];
  metadata: Record<string, unknown>;
  flows: readonly string[];
  provider: string | null;
}

export interface ComposeRequirementsInput {
  /** The kinds of component that join by declared compatibility; default STEP, TRANSFORMER, VALIDATOR, MIDDLEWARE. */
  types?: readonly string[] | null | undefined;
  /**
   * The flow's version or a range: picks the highest FLOW component in it; with no FLOW
   * component registered, the version (or range) declarations like "checkout@^2" must meet.
   */
  flowVersion?: string | null | undefined;
  /** Components that must be in: "name" or "name@range". */
  require?: readonly string[] | null | undefined;
}

export const COMPOSED_TYPES_DEFAULT: readonly ComponentTypeValue[] = ['STEP', 'TRANSFORMER', 'VALIDATOR', 'MIDDLEWARE'];

export const ComposeLimits = { require: 64, rangeLength: 256, resolutionSteps: 10_000 } as const;

/** How a chosen component got into the flow. */
export type CompositionRole = 'STEP' | 'REQUIRED' | 'COMPATIBLE' | 'DEPENDENCY';
/** Why a candidate was left out. */
export type CompositionExclusionCode = 'INCOMPATIBLE' | 'VERSION_CONFLICT' | 'MISSING_DEPENDENCY' | 'UNHEALTHY_PROVIDER' | 'CYCLE';
/** What keeps the flow from being complete. */
export type CompositionProblemCode = 'MISSING_STEP' | 'MISSING_REQUIREMENT' | 'MISSING_DEPENDENCY' | 'INVALID_FLOW' | 'UNKNOWN_FLOW_VERSION';

export interface ComposedComponent<T> {
  component: T;
  role: CompositionRole;
  /** The ids of the chosen components it depends on. */
  dependsOn: string[];
}

export interface ExcludedComponent<T> {
  component: T;
  reason: CompositionExclusionCode;
  /** A sentence saying why, naming what it conflicts with, misses or waits for. */
  message: string;
  /** What the reason names: the chosen version it lost to, the missing dependency, the provider, the cycle's members. */
  related: string[];
}

export interface CompositionProblem {
  code: CompositionProblemCode;
  /** The declared step, requirement or dependency concerned ("charge@^1"), or the flow. */
  subject: string;
  message: string;
}

export interface FlowComposition<T> {
  flow: {
    name: string;
    /** The FLOW component composed from; null when none is registered (a flow known only by name). */
    component: T | null;
    /** The version declarations were checked against: the FLOW component's, else `flowVersion`; null when unknown. */
    version: string | null;
    /** The FLOW component's `metadata.tags` ("tag:" declarations match these). */
    tags: string[];
    /** The FLOW component's `metadata.timeout`, as written. */
    timeout: string | null;
    /** The FLOW component's declared step names, as written. */
    steps: string[];
  };
  /** In order: each after its dependencies; otherwise by type, declared step order, then name. */
  components: ComposedComponent<T>[];
  excluded: ExcludedComponent<T>[];
  problems: CompositionProblem[];
  /** Every declared step, required component and flow dependency is in. */
  complete: boolean;
}

export interface ComposeOptions {
  /** Whether the service has a passing instance (a component with a provider needs one). */
  providerHealthy: (service: string) => boolean;
  requirements?: ComposeRequirementsInput | null | undefined;
}

interface ParsedRequirements {
  types: ComponentTypeValue[];
  flowVersion: string | null;
  require: DependencySpec[];
}

const requirementsSchema = z.object({
  types: z
    .array(
      z.string().refine((type) => (COMPONENT_TYPES as readonly string[]).includes(type) && type !== 'FLOW', {
        message: `must be one of ${COMPONENT_TYPES.filter((type) => type !== 'FLOW').join(', ')} (a FLOW is what is composed)`,
      }),
    )
    .max(COMPONENT_TYPES.length)
    .nullish(),
  flowVersion: z
    .string()
    .max(ComposeLimits.rangeLength, `must be at most ${ComposeLimits.rangeLength} characters`)
    .refine((range) => range.trim() !== '' && semver.validRange(range) !== null, 'must be a version or a semver range ("2.1.0", "^2")')
    .nullish(),
  require: z
    .array(
      z.string().transform((spec, ctx) => {
        const parsed = parseDependencySpec(spec);
        if (!parsed) {
          ctx.addIssue({ code: 'custom', message: `${quoteInput(spec)} is not a component name or id, optionally with "@range" (e.g. "charge@^1")` });
          return z.NEVER;
        }
        return parsed;
      }),
    )
    .max(ComposeLimits.require, `must have at most ${ComposeLimits.require} entries`)
    .nullish(),
});

/** Checks a composition request; BAD_USER_INPUT names the bad field. */
export function parseComposeRequest(
  flow: string,
  requirements: ComposeRequirementsInput | null | undefined,
): { flow: string; requirements: ParsedRequirements } {
  if (typeof flow !== 'string' || !isFlowName(flow)) {
    throw badInput(`${quoteInput(String(flow))} is not a flow name: a FLOW component's name or id ("checkout", "user-registration-flow-v1").`, {
      field: 'flow',
    });
  }
  const parsed = parseInput(requirementsSchema, requirements ?? {}, 'requirements');
  return {
    flow,
    requirements: {
      types: parsed.types && parsed.types.length > 0 ? ([...new Set(parsed.types)] as ComponentTypeValue[]) : [...COMPOSED_TYPES_DEFAULT],
      flowVersion: parsed.flowVersion ?? null,
      require: parsed.require ?? [],
    },
  };
}

/** The composition of `flowName` from `catalog`; throws BAD_USER_INPUT only for a bad request. */
export function composeFlow<T extends ComposableComponent>(flowName: string, catalog: readonly T[], options: ComposeOptions): FlowComposition<T> {
  const { flow, requirements } = parseComposeRequest(flowName, options.requirements);
  return new Composer(flow, requirements, catalog, options.providerHealthy).compose();
}

/** "name@version": how messages name a component. */
export function componentLabel(component: { name: string; version: string }): string {
  return `${component.name}@${component.version}`;
}

const TYPE_RANK = new Map<string, number>(COMPONENT_TYPES.map((type, index) => [type, index]));

type Failure = { reason: Exclude<CompositionExclusionCode, 'INCOMPATIBLE'>; message: string; related: string[] };

/** A name (or declared step / requirement) to resolve to one version, with the versions that may be it. */
interface Unit<T> {
  role: Exclude<CompositionRole, 'DEPENDENCY'> | 'DEPENDENCY';
  /** For problems: the spec as declared ("charge@^1"); undefined for components joining by compatibility. */
  subject?: string;
  problem?: CompositionProblemCode;
  /** The declared step's position, for the order. */
  stepIndex?: number;
  candidates: T[];
}

interface Placed<T> {
  component: T;
  role: CompositionRole;
  dependsOn: string[];
  /** Who brought it in, for conflict messages: the role, or the component that depends on it. */
  broughtBy: string;
}

class Composer<T extends ComposableComponent> {
  private readonly sorted: T[];
  private readonly healthy = new Map<string, boolean>();
  private readonly excluded = new Map<string, ExcludedComponent<T>>();
  private readonly problems: CompositionProblem[] = [];
  private readonly chosen = new Map<string, Placed<T>>(); // by component name: one version each
  private readonly stepIndexById = new Map<string, number>();
  private steps = 0;

  constructor(
    private readonly flowName: string,
    private readonly requirements: ParsedRequirements,
    catalog: readonly T[],
    private readonly providerHealthy: (service: string) => boolean,
  ) {
    // The caller's order must not matter: by name, newest first, then id.
    this.sorted = catalog.filter((component) => semver.valid(component.version) !== null).sort(byNameNewestFirst);
  }

  compose(): FlowComposition<T> {
    const flow = this.pickFlow();
    const units: Unit<T>[] = [];
    const flowSteps = flow.component ? this.declaredSteps(flow.component) : [];
    flowSteps.forEach((spec, index) => units.push(this.namedUnit(spec, 'STEP', 'MISSING_STEP', index)));
    for (const spec of this.requirements.require) units.push(this.namedUnit(spec, 'REQUIRED', 'MISSING_REQUIREMENT'));
    for (const dependency of flow.component?.dependencies ?? []) units.push(this.namedUnit(dependency, 'DEPENDENCY', 'MISSING_DEPENDENCY'));
    units.push(...this.compatibleUnits(flow, new Set(units.flatMap((unit) => unit.candidates.map((candidate) => candidate.name)))));

    for (const unit of units) this.place(unit);

    for (const placed of this.chosen.values()) this.excluded.delete(placed.component.id);
    return {
      flow: {
        name: this.flowName,
        component: flow.component,
        version: flow.version,
        tags: flow.tags,
        timeout: flow.component && typeof flow.component.metadata['timeout'] === 'string' ? flow.component.metadata['timeout'] : null,
        steps: flowSteps.map(specText),
      },
      components: this.order(),
      excluded: [...this.excluded.values()].sort((a, b) => byTypeThenName(a.component, b.component)),
      problems: this.problems,
      complete: this.problems.length === 0,
    };
  }

  /** The FLOW component of that name or id: the highest version, in `flowVersion` when given. */
  private pickFlow(): { component: T | null; version: string | null; range: string | null; tags: string[] } {
    const range = this.requirements.flowVersion;
    const flows = this.sorted.filter((component) => component.type === 'FLOW' && refersTo(this.flowName, component));
    const component = flows.find((candidate) => range === null || semver.satisfies(candidate.version, range)) ?? null;
    if (flows.length > 0 && component === null) {
      this.problems.push({
        code: 'UNKNOWN_FLOW_VERSION',
        subject: this.flowName,
        message: `No FLOW "${this.flowName}" in ${range} is registered (registered: ${flows.map((candidate) => candidate.version).join(', ')}); composed without its declared steps.`,
      });
    }
    if (component === null) return { component: null, version: range !== null ? semver.valid(range) : null, range, tags: [] };
    const tags = component.metadata['tags'];
    return {
      component,
      version: component.version,
      range: component.version,
      tags: Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : [],
    };
  }

  /** metadata.steps as dependency specs; what cannot be read is an INVALID_FLOW problem. */
  private declaredSteps(flow: T): DependencySpec[] {
    const steps = flow.metadata['steps'];
    if (steps === undefined) return [];
    if (!Array.isArray(steps)) {
      this.problem('INVALID_FLOW', this.flowName, `${componentLabel(flow)}'s metadata.steps is not a list of step names.`);
      return [];
    }
    const specs: DependencySpec[] = [];
    for (const step of steps) {
      const spec = typeof step === 'string' ? parseDependencySpec(step) : undefined;
      if (spec) specs.push(spec);
      else
        this.problem(
          'INVALID_FLOW',
          String(step).slice(0, 80),
          `${componentLabel(flow)} declares the step ${JSON.stringify(step)?.slice(0, 80)}, which is not a component name or id.`,
        );
    }
    return specs;
  }

  /** A declared step, a requirement or a flow dependency: every registered version in its range. */
  private namedUnit(spec: DependencySpec, role: Unit<T>['role'], problem: CompositionProblemCode, stepIndex?: number): Unit<T> {
    const candidates = this.candidatesFor(spec);
    const unit: Unit<T> = { role, subject: specText(spec), problem, candidates };
    if (stepIndex !== undefined) {
      unit.stepIndex = stepIndex;
      for (const candidate of candidates) if (!this.stepIndexById.has(candidate.id)) this.stepIndexById.set(candidate.id, stepIndex);
    }
    if (candidates.length === 0) {
      const registered = this.sorted.filter((component) => component.type !== 'FLOW' && refersTo(spec.name, component));
      const what = { STEP: 'step', REQUIRED: 'required component', DEPENDENCY: 'dependency', COMPATIBLE: 'component' }[role];
      this.problem(
        problem,
        specText(spec),
        registered.length === 0
          ? `The ${what} ${specText(spec)} is not registered.`
          : `No registered version of the ${what} ${specText(spec)} is in range (registered: ${registered.map((component) => component.version).join(', ')}).`,
      );
    }
    return unit;
  }

  /** Every component a dependency-like spec may mean, best first (an id match wins, as resolveDependency does). */
  private candidatesFor(spec: DependencySpec): T[] {
    const inRange = this.sorted.filter(
      (component) => component.type !== 'FLOW' && refersTo(spec.name, component) && semver.satisfies(component.version, spec.range),
    );
    const byId = inRange.find((component) => component.id === spec.name);
    return byId ? [byId] : inRange.filter((component) => component.name === spec.name);
  }

  /**
   * One unit per name some version of which mentions this flow (by name, id or one of its tags),
   * of the composed types; that name's versions that do not fit are excluded as INCOMPATIBLE.
   * Names that never mention the flow are not candidates at all: registering a step for another
   * flow does not change this one's composition.
   */
  private compatibleUnits(flow: { component: T | null; range: string | null; tags: string[] }, taken: ReadonlySet<string>): Unit<T>[] {
    const mentioning = new Set(this.sorted.filter((component) => component.flows.some((spec) => this.mentions(spec, flow))).map((component) => component.name));
    const byName = new Map<string, Unit<T> & { first: T }>();
    for (const component of this.sorted) {
      if (!this.requirements.types.includes(component.type) || !mentioning.has(component.name) || taken.has(component.name)) continue;
      const unit = byName.get(component.name) ?? { role: 'COMPATIBLE' as const, candidates: [], first: component };
      byName.set(component.name, unit);
      const incompatibility = this.incompatibility(component, flow);
      if (incompatibility === undefined) unit.candidates.push(component);
      else this.exclude(component, { reason: 'INCOMPATIBLE', message: incompatibility, related: [...component.flows] });
    }
    return [...byName.values()].sort((a, b) => byTypeThenName(a.first, b.first));
  }

  private mentions(spec: string, flow: { component: T | null; tags: string[] }): boolean {
    const declaration = parseFlowDeclaration(spec);
    if (!declaration) return false;
    if (declaration.kind === 'tag') return flow.tags.includes(declaration.tag);
    return declaration.flow === this.flowName || declaration.flow === flow.component?.id || declaration.flow === flow.component?.name;
  }

  /** Why a component's declarations do not include this flow; undefined when one does (the seed's isCompatible). */
  private incompatibility(component: T, flow: { component: T | null; range: string | null; tags: string[] }): string | undefined {
    const outOfRange: string[] = [];
    for (const spec of component.flows) {
      const declaration = parseFlowDeclaration(spec);
      if (!declaration) continue;
      if (declaration.kind === 'tag') {
        if (flow.tags.includes(declaration.tag)) return undefined;
        continue;
      }
      if (declaration.flow !== this.flowName && declaration.flow !== flow.component?.id && declaration.flow !== flow.component?.name) continue;
      if (declaration.range === '*') return undefined;
      if (flow.range !== null && rangeMeets(flow.range, declaration.range)) return undefined;
      outOfRange.push(spec);
    }
    if (outOfRange.length > 0) {
      return flow.range === null
        ? `${componentLabel(component)} declares ${outOfRange.join(', ')}, but the flow's version is unknown (register the FLOW component or give flowVersion).`
        : `${componentLabel(component)} declares ${outOfRange.join(', ')}, but the flow is ${flow.component ? flow.range : `in ${flow.range}`}.`;
    }
    return component.flows.length === 0
      ? `${componentLabel(component)} declares no flows (other versions of it serve ${this.flowName}).`
      : `${componentLabel(component)} declares other flows (${component.flows.join(', ')}), not ${this.flowName}.`;
  }

  /** Chooses one version of the unit (the highest whose dependencies resolve) and brings in its dependencies. */
  private place(unit: Unit<T>): void {
    if (unit.candidates.length === 0) return;
    const present = unit.candidates.map((candidate) => this.chosen.get(candidate.name)).find((placed) => placed !== undefined);
    if (present) {
      // Already in (as a dependency, or named twice): it stays, at the version it has.
      if (unit.candidates.some((candidate) => candidate.id === present.component.id)) {
        if (present.role === 'DEPENDENCY' || present.role === 'COMPATIBLE') present.role = unit.role;
        for (const candidate of unit.candidates) {
          if (candidate.id !== present.component.id) this.lostTo(candidate, present.component);
        }
        return;
      }
      for (const candidate of unit.candidates) {
        this.exclude(candidate, {
          reason: 'VERSION_CONFLICT',
          message: `${componentLabel(candidate)}: ${componentLabel(present.component)} is already in the flow (${present.broughtBy}), and a flow has one version of each component.`,
          related: [present.component.id],
        });
      }
      this.unitFailed(unit);
      return;
    }
    const failures: [T, Failure][] = [];
    for (const candidate of unit.candidates) {
      const attempt = this.tryAdd(candidate);
      if ('failure' in attempt) {
        failures.push([candidate, attempt.failure]);
        continue;
      }
      for (const [name, placed] of attempt.added) {
        this.chosen.set(name, name === candidate.name ? { ...placed, role: unit.role, broughtBy: roleText(unit.role) } : placed);
      }
      for (const [failed, failure] of failures) this.exclude(failed, failure);
      for (const lower of unit.candidates.slice(unit.candidates.indexOf(candidate) + 1)) this.lostTo(lower, candidate);
      return;
    }
    for (const [failed, failure] of failures) this.exclude(failed, failure);
    this.unitFailed(unit);
  }

  /**
   * Adds `root` and, depth-first, the dependencies it needs, against the components already
   * chosen: a dependency whose name is in the flow must accept that version; otherwise each
   * version in range is tried, highest first. Nothing is kept unless all of it resolves.
   */
  private tryAdd(root: T): { added: Map<string, Placed<T>> } | { failure: Failure } {
    const added = new Map<string, Placed<T>>();
    const path: T[] = [];
    const visit = (component: T, broughtBy: string): Failure | undefined => {
      if (++this.steps > ComposeLimits.resolutionSteps) {
        return {
          reason: 'VERSION_CONFLICT',
          message: `gave up after ${ComposeLimits.resolutionSteps} resolution steps (too many versions to try)`,
          related: [],
        };
      }
      if (component.provider !== null && !this.isHealthy(component.provider)) {
        return {
          reason: 'UNHEALTHY_PROVIDER',
          message: `${componentLabel(component)} runs on the service "${component.provider}", which has no passing instance`,
          related: [component.provider],
        };
      }
      const placed: Placed<T> = { component, role: 'DEPENDENCY', dependsOn: [], broughtBy };
      added.set(component.name, placed);
      path.push(component);
      for (const dependency of component.dependencies) {
        const failure = this.resolve(dependency, component, placed, added, path, visit);
        if (failure) {
          path.pop();
          return failure;
        }
      }
      path.pop();
      return undefined;
    };
    const failure = visit(root, 'declared');
    if (failure) return { failure: { ...failure, message: `${failure.message}.` } };
    return { added };
  }

  private resolve(
    dependency: ComponentDependencyRecord,
    dependent: T,
    placed: Placed<T>,
    added: Map<string, Placed<T>>,
    path: T[],
    visit: (component: T, broughtBy: string) => Failure | undefined,
  ): Failure | undefined {
    const spec = specText(dependency);
    const matching = this.sorted.filter((component) => refersTo(dependency.name, component));
    const inFlow = matching.map((component) => added.get(component.name) ?? this.chosen.get(component.name)).find((entry) => entry !== undefined);
    if (inFlow) {
      const present = inFlow.component;
      if (refersTo(dependency.name, present) && semver.satisfies(present.version, dependency.range)) {
        if (path.includes(present)) {
          const cycle = [...path.slice(path.indexOf(present)), present];
          return {
            reason: 'CYCLE',
            message: `dependency cycle: ${cycle.map(componentLabel).join(' -> ')}`,
            related: [...new Set(cycle.map((member) => member.id))],
          };
        }
        placed.dependsOn.push(present.id);
        return undefined;
      }
      return {
        reason: 'VERSION_CONFLICT',
        message: `${componentLabel(dependent)} requires ${spec}, but ${componentLabel(present)} is in the flow (${inFlow.broughtBy})`,
        related: [present.id],
      };
    }
    const options = this.candidatesFor(dependency).filter((component) => component.id !== dependent.id);
    if (options.length === 0) {
      const registered = matching.map((component) => component.version);
      return {
        reason: 'MISSING_DEPENDENCY',
        message:
          registered.length === 0
            ? `${componentLabel(dependent)} needs ${spec}, which is not registered`
            : `${componentLabel(dependent)} needs ${spec}, and no registered version is in range (registered: ${registered.join(', ')})`,
        related: [spec],
      };
    }
    let last: Failure | undefined;
    for (const option of options) {
      const before = new Map(added);
      const failure = visit(option, `needed by ${componentLabel(dependent)}`);
      if (!failure) {
        placed.dependsOn.push(option.id);
        return undefined;
      }
      // Undo what the failed option brought in before trying the next version.
      added.clear();
      for (const [name, entry] of before) added.set(name, entry);
      last = failure;
    }
    // Say the whole chain: "a needs b@^1: b@1.2.0 runs on …".
    return { ...last!, message: `${componentLabel(dependent)} needs ${spec}: ${last!.message}` };
  }

  private isHealthy(service: string): boolean {
    let healthy = this.healthy.get(service);
    if (healthy === undefined) this.healthy.set(service, (healthy = this.providerHealthy(service)));
    return healthy;
  }

  private lostTo(lower: T, winner: T): void {
    this.exclude(lower, {
      reason: 'VERSION_CONFLICT',
      message: `${componentLabel(lower)} lost to ${componentLabel(winner)}: a flow has one version of each component, the highest that fits.`,
      related: [winner.id],
    });
  }

  private unitFailed(unit: Unit<T>): void {
    if (!unit.problem || !unit.subject) return;
    const what = { STEP: 'step', REQUIRED: 'required component', DEPENDENCY: 'dependency', COMPATIBLE: 'component' }[unit.role];
    this.problem(unit.problem, unit.subject, `No version of the ${what} ${unit.subject} can be used (see the excluded components).`);
  }

  private exclude(component: T, exclusion: Omit<ExcludedComponent<T>, 'component'>): void {
    if (!this.excluded.has(component.id)) this.excluded.set(component.id, { component, ...exclusion });
  }

  private problem(code: CompositionProblemCode, subject: string, message: string): void {
    this.problems.push({ code, subject, message });
  }

  /**
   * Dependencies first (Kahn's algorithm); among the ready ones, by type, declared step order,
   * name, id. A dependency takes the place of the first component that needs it, so it comes
   * right before that one rather than with the other plugins at the end.
   */
  private order(): ComposedComponent<T>[] {
    const placed = [...this.chosen.values()];
    const own = new Map(placed.map((entry) => [entry.component.id, this.placeOf(entry)]));
    const effective = new Map(own);
    // The graph is acyclic: pushing each place down to the dependencies settles within n rounds.
    for (let round = 0, changed = true; changed && round <= placed.length; round++) {
      changed = false;
      for (const entry of placed) {
        const place = effective.get(entry.component.id)!;
        for (const dependency of entry.dependsOn) {
          if (comparePlaces(place, effective.get(dependency)!) < 0) {
            effective.set(dependency, place);
            changed = true;
          }
        }
      }
    }
    const compare = (a: Placed<T>, b: Placed<T>): number =>
      comparePlaces(effective.get(a.component.id)!, effective.get(b.component.id)!) ||
      comparePlaces(own.get(a.component.id)!, own.get(b.component.id)!) ||
      compareText(a.component.name, b.component.name) ||
      compareText(a.component.id, b.component.id);
    const waitingOn = new Map(placed.map((entry) => [entry.component.id, new Set(entry.dependsOn)]));
    const result: ComposedComponent<T>[] = [];
    let remaining = placed;
    while (remaining.length > 0) {
      const ready = remaining.filter((entry) => waitingOn.get(entry.component.id)!.size === 0).sort(compare);
      // Resolution never keeps a cycle, so something is always ready; the guard keeps a bug from looping.
      const next = ready[0] ?? remaining.sort(compare)[0]!;
      result.push({ component: next.component, role: next.role, dependsOn: [...next.dependsOn] });
      remaining = remaining.filter((entry) => entry !== next);
      for (const waits of waitingOn.values()) waits.delete(next.component.id);
    }
    return result;
  }

  /** Where a component goes by itself: its type's rank, then (declared steps) its position in `steps`, then its name. */
  private placeOf(entry: Placed<T>): Place {
    return [
      TYPE_RANK.get(entry.component.type) ?? 99,
      entry.role === 'STEP' ? (this.stepIndexById.get(entry.component.id) ?? Infinity) : Infinity,
      entry.component.name,
    ];
  }
}

type Place = [number, number, string];

function comparePlaces(a: Place, b: Place): number {
  return a[0] - b[0] || (a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1) || compareText(a[2], b[2]);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A flow version (or range) meets a declared range: every version for an exact one, any overlap for a range. */
function rangeMeets(flowRange: string, declared: string): boolean {
  const exact = semver.valid(flowRange);
  return exact !== null ? semver.satisfies(exact, declared) : semver.intersects(flowRange, declared);
}

function refersTo(reference: string, component: { id: string; name: string }): boolean {
  return component.id === reference || component.name === reference;
}

function specText(spec: ComponentDependencyRecord): string {
  return spec.range === '*' ? spec.name : `${spec.name}@${spec.range}`;
}

function roleText(role: CompositionRole): string {
  return { STEP: 'a declared step', REQUIRED: 'required', COMPATIBLE: 'compatible', DEPENDENCY: 'a flow dependency' }[role];
}

function byNameNewestFirst(a: ComposableComponent, b: ComposableComponent): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return semver.rcompare(a.version, b.version) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function byTypeThenName(a: ComposableComponent, b: ComposableComponent): number {
  const rank = (TYPE_RANK.get(a.type) ?? 99) - (TYPE_RANK.get(b.type) ?? 99);
  return rank !== 0 ? rank : byNameNewestFirst(a, b);
}
