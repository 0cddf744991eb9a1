import semver from 'semver';
import { parseDependencySpec } from '@switchboard/contracts';
import type { Component } from '../registry/components/model.js';
import { resolveDependency } from '../registry/components/resolve.js';
import { jsonPath, type Manifest } from './manifest.js';
import { registrationOrder } from './order.js';

/**
 * The dependency analyzer: what in a manifest could never start as declared. A service or component dependency
 * nothing declares, a range no declared version satisfies, a service that needs itself, and cycles, named the
 * way the registry's `dependencyOrder` names them ("Dependency cycle: a@1.0.0 -> b@1.0.0 -> a@1.0.0."). With
 * the live registry's catalogue it also says which dependencies only the registry satisfies.
 */
export type CheckProblemKind = 'missing-service' | 'missing-component' | 'missing-provider' | 'unsatisfiable-range' | 'self-dependency' | 'cycle';

export interface CheckProblem {
  kind: CheckProblemKind;
  /** The JSON path of the declaration at fault: `$.services[1].dependencies[0]`. */
  path: string;
  message: string;
  /** The service or component (id) that declares it. */
  from: string;
  /** The dependency as declared: "fx@^3". */
  dependency?: string;
  /** For an unsatisfiable range: the versions there are (the manifest's and, with --live, the registry's), newest first. */
  availableVersions?: string[];
  /** For a cycle: its members as "name@version", the first repeated at the end. */
  cycle?: string[];
}

/** A dependency the manifest does not satisfy but the live registry does. */
export interface SatisfiedLive {
  path: string;
  from: string;
  dependency: string;
  /** What satisfies it: "audit 1.2.0" (a service's version) or a component id. */
  by: string;
}

export interface CheckReport {
  problems: CheckProblem[];
  satisfiedLive: SatisfiedLive[];
}

/** What the live registry has, for `--live`: instances' versions by service name, and every component. */
export interface LiveCatalogue {
  services: Map<string, (string | null)[]>;
  components: readonly { id: string; name: string; version: string }[];
}

export function checkManifest(manifest: Manifest, live?: LiveCatalogue): CheckReport {
  const report: CheckReport = { problems: [], satisfiedLive: [] };
  checkServices(manifest, live, report);
  checkComponents(manifest, live, report);
  return report;
}

function checkServices(manifest: Manifest, live: LiveCatalogue | undefined, report: CheckReport): void {
  const declared = new Map<string, (string | undefined)[]>();
  for (const service of manifest.services) declared.set(service.name, [...(declared.get(service.name) ?? []), service.version]);

  manifest.services.forEach((service, index) => {
    service.dependencies.forEach((dependency, at) => {
      const path = jsonPath(['services', index, 'dependencies', at]);
      const spec = dependency.range === '*' ? dependency.service : `${dependency.service}@${dependency.range}`;
      const problem = (kind: CheckProblemKind, message: string, extra: Partial<CheckProblem> = {}) =>
        report.problems.push({ kind, path, message, from: service.name, dependency: spec, ...extra });
      if (dependency.service === service.name) {
        problem('self-dependency', `${service.name} depends on itself (${spec}): it could never become ready waiting for itself`);
        return;
      }
      const versions = declared.get(dependency.service);
      if (versions?.some((version) => satisfies(version, dependency.range))) return;
      const liveVersions = live?.services.get(dependency.service) ?? [];
      const liveMatch = liveVersions.find((version) => satisfies(version ?? undefined, dependency.range));
      if (liveMatch !== undefined) {
        report.satisfiedLive.push({ path, from: service.name, dependency: spec, by: `${dependency.service}${liveMatch ? ` ${liveMatch}` : ''}` });
        return;
      }
      if (!versions && liveVersions.length === 0) {
        problem(
          'missing-service',
          `${service.name} depends on ${spec}, which no service in the manifest declares${live ? ' and no instance in the registry provides' : ''}`,
        );
        return;
      }
      const available = newestFirst([...(versions ?? []), ...liveVersions.map((version) => version ?? undefined)]);
      problem('unsatisfiable-range', `${service.name} depends on ${spec}, but ${dependency.service} is declared only at ${listVersions(available)}`, {
        availableVersions: available,
      });
    });
  });

  // Services wait for their dependencies at start: a cycle of them may never become ready.
  const nodes = manifest.services.map((service) => ({
    id: service.name,
    name: service.name,
    version: service.version ?? '0.0.0',
    dependencies: service.dependencies.filter((dependency) => dependency.service !== service.name).map(({ service: name, range }) => ({ name, range })),
  }));
  const label = (name: string) => {
    const service = manifest.services.find((each) => each.name === name)!;
    return service.version ? `${service.name}@${service.version}` : service.name;
  };
  for (const cycle of registrationOrder(nodes).cycles) {
    const index = manifest.services.findIndex((service) => service.name === cycle[0]);
    const members = cycle.map(label);
    report.problems.push({ kind: 'cycle', path: jsonPath(['services', index]), message: cycleMessage(members), from: cycle[0]!, cycle: members });
  }
}

function checkComponents(manifest: Manifest, live: LiveCatalogue | undefined, report: CheckReport): void {
  const declared = manifest.components;
  const services = new Set(manifest.services.map((service) => service.name));
  declared.forEach((component, index) => {
    component.dependencies.forEach((spec, at) => {
      const path = jsonPath(['components', index, 'dependencies', at]);
      const dependency = parseDependencySpec(spec)!; // validateManifest checked every spec
      if (resolve(dependency, declared)) return;
      const liveMatch = live && resolve(dependency, live.components);
      if (liveMatch) {
        report.satisfiedLive.push({ path, from: component.id, dependency: spec, by: liveMatch.id });
        return;
      }
      const named = [...declared, ...(live?.components ?? [])].filter((candidate) => candidate.id === dependency.name || candidate.name === dependency.name);
      if (named.length === 0) {
        report.problems.push({
          kind: 'missing-component',
          path,
          from: component.id,
          dependency: spec,
          message: `${component.id} depends on ${spec}, which no component in the manifest declares${live ? ' and the registry does not have' : ''}`,
        });
        return;
      }
      const available = newestFirst(named.map((candidate) => candidate.version));
      report.problems.push({
        kind: 'unsatisfiable-range',
        path,
        from: component.id,
        dependency: spec,
        availableVersions: available,
        message: `${component.id} depends on ${spec}, but ${dependency.name} is declared only at ${listVersions(available)}`,
      });
    });
    const provider = component.provider;
    if (provider !== undefined && !services.has(provider)) {
      const liveProvider = live?.services.get(provider)?.length;
      if (liveProvider)
        report.satisfiedLive.push({ path: jsonPath(['components', index, 'provider']), from: component.id, dependency: provider, by: provider });
      else {
        report.problems.push({
          kind: 'missing-provider',
          path: jsonPath(['components', index, 'provider']),
          from: component.id,
          dependency: provider,
          message: `${component.id} is provided by ${provider}, which no service in the manifest declares${live ? ' and no instance in the registry provides' : ''}`,
        });
      }
    }
  });

  const nodes = declared.map((component) => ({
    id: component.id,
    name: component.name,
    version: component.version,
    dependencies: component.dependencies.map((spec) => parseDependencySpec(spec)!),
  }));
  const byId = new Map(declared.map((component, index) => [component.id, { component, index }]));
  for (const cycle of registrationOrder(nodes).cycles) {
    const members = cycle.map((id) => `${byId.get(id)!.component.name}@${byId.get(id)!.component.version}`);
    report.problems.push({
      kind: 'cycle',
      path: jsonPath(['components', byId.get(cycle[0]!)!.index]),
      message: cycleMessage(members),
      from: cycle[0]!,
      cycle: members,
    });
  }
}

/** As src/registry/components/order.ts words it. */
function cycleMessage(members: readonly string[]): string {
  return `Dependency cycle: ${members.join(' -> ')}.`;
}

/**
 * The registry's own resolution (an id in range wins, else the highest version of that name in range). It reads
 * only ids, names and versions, which is all a manifest entry or a live component gives here.
 */
function resolve<C extends { id: string; name: string; version: string }>(
  dependency: { name: string; range: string },
  candidates: readonly C[],
): C | undefined {
  return resolveDependency(dependency, candidates as unknown as readonly Component[]) as unknown as C | undefined;
}

/** A service without a version satisfies only "*" (as discovery with a version range leaves it out). */
function satisfies(version: string | undefined, range: string): boolean {
  return range === '*' || (version !== undefined && semver.satisfies(version, range));
}

function newestFirst(versions: readonly (string | undefined)[]): string[] {
  const valid = [...new Set(versions.filter((version): version is string => version !== undefined && semver.valid(version) !== null))];
  return semver.rsort(valid);
}

function listVersions(versions: readonly string[]): string {
  return versions.length === 0 ? 'no version' : versions.join(', ');
}
