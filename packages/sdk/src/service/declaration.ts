import { findSwitchboardError, parseDependencySpec, serviceDefinitionSchema, validateKey } from '@switchboard/contracts';
import type { Duration, ServiceDefinition } from '../registry/registry.js';
import { validateServiceDefinition } from '../registry/validate.js';

/** What `@service` takes: the seed's example, `@service({ name, version, port, dependsOn, healthCheck })`. */
export interface ServiceOptions {
  name: string;
  version?: string;
  port: number;
  /** Default: detected when the service starts (see `start`). */
  address?: string;
  tags?: readonly string[];
  metadata?: Record<string, string>;
  /** Services this one needs before it is ready: "ledger" or "ledger@^2" (a semver range). */
  dependsOn?: readonly string[];
  /** An HTTP path the registry probes on this instance, or a TTL lease the SDK renews. */
  healthCheck?: { http: string; interval?: Duration; timeout?: Duration } | { ttl: Duration };
  /** Bound to the registry connection instead of a lease (see `start`'s `ephemeral`); not with a `ttl` check. */
  ephemeral?: boolean;
}

export interface DependencyDeclaration {
  service: string;
  /** A semver range; "*" for any version. */
  range: string;
}

/** A field the SDK fills in when the service starts. */
export interface InjectedField {
  field: string;
  set(instance: object, value: unknown): void;
}

/** A decorated class as `describeService` reports it, validated. */
export interface ServiceDeclaration {
  className: string;
  name: string;
  version: string | undefined;
  port: number;
  address: string | undefined;
  tags: string[];
  metadata: Record<string, string>;
  healthCheck: { http: string; interval?: Duration; timeout?: Duration } | { ttl: Duration } | undefined;
  ephemeral: boolean;
  /** `dependsOn` and every `@dependency` field's service, once each. */
  dependencies: DependencyDeclaration[];
  dependencyFields: (InjectedField & { service: string })[];
  configFields: (InjectedField & { key: string })[];
}

/** A decorator used wrongly: names the class and the field (an option of `@service`, or a decorated field). */
export class ServiceDeclarationError extends Error {
  override readonly name = 'ServiceDeclarationError';

  constructor(
    readonly className: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${className}.${field}: ${problem}`);
  }
}

export type FieldEntry =
  | { kind: 'dependency'; service: unknown; field: string; set: InjectedField['set'] }
  | { kind: 'config'; key: unknown; field: string; set: InjectedField['set'] };

/** Validates what the decorators collected on `className`; throws ServiceDeclarationError at the first misuse. */
export function declare(className: string, options: ServiceOptions | undefined, fields: readonly FieldEntry[]): ServiceDeclaration {
  const fail = (field: string, problem: string) => new ServiceDeclarationError(className, field, problem);
  if (!options || typeof options !== 'object') throw fail('@service', 'takes an object: @service({ name, port, ... })');

  // The server defaults both; a declared service names itself and says where it listens.
  if (options.name == null || options.name === '') throw fail('name', 'is required: @service({ name: "payments", port: 8443 })');
  if (options.port == null) throw fail('port', 'is required: the port this service listens on');

  const dependencies = new Map<string, DependencyDeclaration>();
  for (const [index, spec] of (options.dependsOn ?? []).entries()) {
    const dependency = parseServiceDependency(spec);
    if (!dependency) throw fail(`dependsOn[${index}]`, `${JSON.stringify(spec)} is not a service name or "name@range" (e.g. "ledger", "ledger@^2")`);
    dependencies.set(dependency.service, dependency);
  }

  const dependencyFields: ServiceDeclaration['dependencyFields'] = [];
  const configFields: ServiceDeclaration['configFields'] = [];
  for (const entry of fields) {
    if (entry.kind === 'dependency') {
      const dependency = typeof entry.service === 'string' ? parseServiceDependency(entry.service) : undefined;
      if (!dependency || dependency.range !== '*') {
        throw fail(
          entry.field,
          `@dependency(${JSON.stringify(entry.service)}) must name a service, e.g. @dependency('ledger'); put a version range in dependsOn`,
        );
      }
      if (!dependencies.has(dependency.service)) dependencies.set(dependency.service, dependency);
      dependencyFields.push({ field: entry.field, set: entry.set, service: dependency.service });
    } else {
      if (typeof entry.key !== 'string' || !isConfigKey(entry.key)) {
        throw fail(entry.field, `@config(${JSON.stringify(entry.key)}) must name a configuration key such as "payments.rate_limit"`);
      }
      configFields.push({ field: entry.field, set: entry.set, key: entry.key });
    }
  }

  const healthCheck = options.healthCheck;
  if (options.ephemeral !== undefined && typeof options.ephemeral !== 'boolean') throw fail('ephemeral', 'must be true or false');
  if (options.ephemeral && healthCheck && 'ttl' in healthCheck) {
    throw fail('healthCheck.ttl', 'an ephemeral service is kept by its connection, not a lease: leave the ttl out');
  }
  if (healthCheck && !('ttl' in healthCheck) && !/^\/|^https?:\/\//.test(String((healthCheck as { http?: unknown }).http))) {
    throw fail('healthCheck', 'must be { http: "/healthz", interval?: "10s" } (a path on this service, or a URL) or { ttl: "10s" }');
  }
  try {
    // The server's own rules, on the definition this class will register (any address: it is known at start).
    validateServiceDefinition(toDefinition(options, options.address ?? '127.0.0.1'));
  } catch (error) {
    const issue = (findSwitchboardError(error)?.details?.['issues'] as { field: string; message: string }[] | undefined)?.[0];
    if (!issue) throw error;
    // The lease and the check come from `healthCheck`: report them where the class wrote them.
    throw fail(['ttl', 'http', 'interval', 'timeout'].includes(issue.field) ? `healthCheck.${issue.field}` : issue.field, issue.message);
  }

  return {
    className,
    name: options.name,
    version: options.version,
    port: options.port,
    address: options.address,
    tags: [...(options.tags ?? [])],
    metadata: { ...options.metadata },
    healthCheck,
    ephemeral: options.ephemeral ?? false,
    dependencies: [...dependencies.values()],
    dependencyFields,
    configFields,
  };
}

/** The definition a declared service registers at `address`: an HTTP check on it, or a lease. */
export function toDefinition(
  options: Pick<ServiceOptions, 'name' | 'version' | 'port' | 'tags' | 'metadata' | 'healthCheck'>,
  address: string,
): ServiceDefinition {
  const { healthCheck } = options;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    id: `${options.name}-${address.replace(/[^A-Za-z0-9]+/g, '-')}-${options.port}`,
    name: options.name,
    version: options.version,
    address,
    port: options.port,
    tags: options.tags,
    metadata: options.metadata,
    ...(healthCheck && 'ttl' in healthCheck
      ? { ttl: healthCheck.ttl }
      : healthCheck
        ? {
            healthCheck: {
              http: healthCheck.http.startsWith('/') ? `http://${host}:${options.port}${healthCheck.http}` : healthCheck.http,
              interval: healthCheck.interval,
              timeout: healthCheck.timeout,
            },
          }
        : {}),
  };
}

/** "ledger" or "ledger@^2": a service name as the server accepts it, and a semver range. */
function parseServiceDependency(spec: unknown): DependencyDeclaration | undefined {
  if (typeof spec !== 'string') return undefined;
  const parsed = parseDependencySpec(spec);
  if (!parsed || !serviceDefinitionSchema.shape.name.safeParse(parsed.name).success) return undefined;
  return { service: parsed.name, range: parsed.range };
}

function isConfigKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}
