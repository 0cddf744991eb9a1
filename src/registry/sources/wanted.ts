import { SwitchboardError, type ServiceDefinitionInput } from '@switchboard/contracts';
import type { ServiceInstance as DeliveredInstance } from '@switchboard/sdk';
import { capOutput, type CheckStatus } from '../health/model.js';
import { parseServiceDefinition, type ServiceDefinition } from '../services/definition.js';

/** An instance a source delivered, validated as any registration is: what its row should hold. */
export interface WantedInstance {
  definition: ServiceDefinition;
  /** The source's word on its health (UNKNOWN counts as passing, as an instance without checks does here). */
  status: CheckStatus;
  output: string;
}

/** An id of a delivered set that was not written, and why (logged, counted in metrics). */
export interface Refusal {
  id: string;
  kind: 'invalid' | 'duplicate' | 'collision';
  reason: string;
}

const STATUSES: ReadonlySet<string> = new Set(['PASSING', 'WARNING', 'CRITICAL']);

/**
 * A delivered set as rows to write: each instance validated with the rules every registration
 * follows (a source is no way around them). An invalid instance, or a second one with an id
 * already seen, is refused alone; the others go on.
 */
export function wantedInstances(delivered: readonly DeliveredInstance[]): { wanted: WantedInstance[]; refused: Refusal[] } {
  const wanted = new Map<string, WantedInstance>();
  const refused: Refusal[] = [];
  for (const instance of delivered) {
    const id = String(instance.id);
    let definition: ServiceDefinition;
    try {
      definition = parseServiceDefinition(definitionInput(instance));
    } catch (error) {
      if (!(error instanceof SwitchboardError)) throw error;
      refused.push({ id, kind: 'invalid', reason: error.message });
      continue;
    }
    if (wanted.has(definition.id)) {
      refused.push({ id, kind: 'duplicate', reason: `The source delivered instance "${id}" more than once; the first one is kept.` });
      continue;
    }
    const status = instance.health?.status;
    wanted.set(definition.id, {
      definition,
      status: typeof status === 'string' && STATUSES.has(status) ? (status as CheckStatus) : 'PASSING',
      output: capOutput(typeof instance.health?.output === 'string' ? instance.health.output : ''),
    });
  }
  return { wanted: [...wanted.values()], refused };
}

/**
 * The registration an instance amounts to. No `ttl`: the source keeps its own leases, and an
 * instance leaves when the source stops delivering it, never by this registry's expiry sweep.
 */
function definitionInput(instance: DeliveredInstance): ServiceDefinitionInput {
  return {
    id: instance.id,
    name: instance.name,
    version: instance.version,
    address: instance.address,
    port: instance.port,
    tags: instance.tags,
    metadata: instance.metadata,
    endpoints: instance.endpoints?.map((endpoint) => ({ path: endpoint.path, method: endpoint.method, description: endpoint.description })),
    protocols: instance.protocols,
    weight: instance.weight,
    priority: instance.priority,
  };
}
