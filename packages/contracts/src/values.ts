/**
 * The value types the registry's entities are made of: statuses, kinds, check
 * targets, endpoint and dependency records, who caused an event. Plain data, shared
 * by the server's storage, its domain and its API, and by clients.
 */

export type CheckStatusValue = 'PASSING' | 'WARNING' | 'CRITICAL';
export type CheckKindValue = 'HTTP' | 'TCP' | 'GRPC' | 'SCRIPT' | 'TTL';

/** Where and how a check probes, by kind. */
export type CheckTarget =
  | { kind: 'HTTP'; url: string; method: string; headers: Record<string, string>; tlsSkipVerify: boolean }
  | { kind: 'TCP'; address: string }
  | { kind: 'GRPC'; address: string; service: string; useTls: boolean }
  | { kind: 'SCRIPT'; command: string; args: string[] }
  | { kind: 'TTL' };

export type CircuitStateValue = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export type TokenScopeValue = 'READ' | 'WRITE' | 'ADMIN';

/** The kinds of framework component the catalog holds. */
export const COMPONENT_TYPES = ['STEP', 'TRANSFORMER', 'VALIDATOR', 'FLOW', 'MIDDLEWARE', 'PLUGIN'] as const;
export type ComponentTypeValue = (typeof COMPONENT_TYPES)[number];

export interface ComponentDependencyRecord {
  name: string;
  /** A semver range; "*" when the dependency names no version. */
  range: string;
}

/** One documented endpoint of a service instance. */
export interface EndpointRecord {
  path: string;
  method: string;
  description: string | null;
  parameters: EndpointParameterRecord[];
  responses: EndpointResponseRecord[];
}

export interface EndpointParameterRecord {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie' | 'body';
  type: string;
  required: boolean;
  description: string | null;
}

export interface EndpointResponseRecord {
  status: number;
  description: string | null;
  schema: unknown;
}

/** Who caused an event: a token's id and name. */
export interface EventActor {
  id: string;
  name: string;
}
