import {
  badInput,
  isIP,
  jsonProblem,
  parseInput,
  serviceDefinitionSchema,
  ServiceLimits,
  unmapIPv4,
  type EndpointRecord,
  type ServiceDefinitionInput,
} from '@switchboard/contracts';
import type { ServiceInstance } from '../instances/model.js';

/** A validated, normalised definition, ready to store: the fields of an instance its registration defines. */
export type ServiceDefinition = Pick<
  ServiceInstance,
  'id' | 'name' | 'version' | 'address' | 'port' | 'tags' | 'metadata' | 'endpoints' | 'protocols' | 'weight' | 'priority' | 'ttlMs'
>;

export function parseServiceDefinition(input: ServiceDefinitionInput): ServiceDefinition {
  const parsed = parseInput(serviceDefinitionSchema, input, 'service definition', { ttlMs: 'ttl' });
  const endpoints: EndpointRecord[] = (parsed.endpoints ?? []).map((endpoint) => ({
    path: endpoint.path,
    method: endpoint.method,
    description: endpoint.description ?? null,
    parameters: (endpoint.parameters ?? []).map((parameter) => ({
      name: parameter.name,
      in: parameter.in,
      type: parameter.type ?? 'string',
      required: parameter.required ?? false,
      description: parameter.description ?? null,
    })),
    responses: (endpoint.responses ?? []).map((response) => ({
      status: response.status,
      description: response.description ?? null,
      schema: response.schema ?? null,
    })),
  }));
  const endpointsProblem = jsonProblem(endpoints, { maxBytes: ServiceLimits.endpointsBytes, maxDepth: 24 });
  if (endpointsProblem) {
    throw badInput(`Invalid service definition: endpoints ${endpointsProblem}.`, { issues: [{ field: 'endpoints', message: endpointsProblem }] });
  }

  const address = parsed.address ?? callerHost(parsed.callerAddress);
  if (address === undefined) {
    const message = "address is required: the server cannot see the caller's address on this transport";
    throw badInput(`Invalid service definition: ${message}.`, { issues: [{ field: 'address', message }] });
  }

  return {
    id: instanceIdOf(parsed),
    name: parsed.name,
    version: parsed.version ?? null,
    address,
    port: parsed.port ?? null,
    tags: unique(parsed.tags ?? []),
    metadata: parsed.metadata,
    endpoints,
    protocols: unique(parsed.protocols ?? []),
    weight: parsed.weight ?? 1,
    priority: parsed.priority ?? 0,
    ttlMs: parsed.ttlMs == null ? null : Math.round(parsed.ttlMs),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The id an input registers under: its own, or its name (as in Consul). Unvalidated. */
export function instanceIdOf(input: { id?: string | null | undefined; name: string }): string {
  return input.id ?? input.name;
}

/** The caller's socket address as a host to store, or undefined when there is none usable. */
function callerHost(callerAddress: string | null | undefined): string | undefined {
  if (!callerAddress) return undefined;
  const host = unmapIPv4(callerAddress);
  return isIP(host) !== 0 ? host : undefined;
}
