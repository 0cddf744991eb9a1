import { createHash } from 'node:crypto';
import { formatDuration } from '@switchboard/contracts';
import type { HealthCheck } from '../registry/health/index.js';
import type { ServiceInstance } from '../registry/services/index.js';
import type { IndexTracker } from './indexes.js';

/**
 * Switchboard's catalog in Consul's shapes.
 *
 * The node model: Consul lists services by the node (agent) they run on; Switchboard has
 * instances with addresses. An instance's node is its address: the node's name and its
 * Address are the instance's address, so instances on one host share a node and
 * `catalog/nodes` lists the hosts. A client that falls back from ServiceAddress to the
 * node's Address (as Prometheus's Consul SD does) reaches the instance either way.
 */

export type ConsulStatus = 'passing' | 'warning' | 'critical';

/** Consul's check id for an instance in maintenance, and the name and note it shows. */
export const maintenanceCheckId = (serviceId: string) => `_service_maintenance:${serviceId}`;
const MAINTENANCE_NAME = 'Service Maintenance Mode';
const DEFAULT_MAINTENANCE_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

export interface NodeView {
  datacenter: string;
  indexes: IndexTracker;
}

/** A stable node id (Consul's are UUIDs) from the node's name. */
export function nodeId(node: string): string {
  const hex = createHash('sha256').update(node).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The node an instance runs on: its address (see the node model above). */
export const nodeOf = (instance: ServiceInstance) => instance.address;

/** Consul's `Node` object, for the node named `node`. */
export function consulNode(node: string, view: NodeView) {
  const index = view.indexes.of(`node:${node}`);
  return {
    ID: nodeId(node),
    Node: node,
    Address: node,
    Datacenter: view.datacenter,
    TaggedAddresses: { lan: node, wan: node },
    Meta: {},
    CreateIndex: index,
    ModifyIndex: index,
  };
}

function instanceIndexes(instance: ServiceInstance, indexes: IndexTracker) {
  const modify = indexes.of(`instance:${instance.id}`);
  return { CreateIndex: Math.min(indexes.of(`created:${instance.id}`), modify), ModifyIndex: modify };
}

const weights = (instance: ServiceInstance) => ({ Passing: instance.weight, Warning: 1 });

/** Consul's AgentService (agent/services, and the `Service` of a health entry). */
export function agentService(instance: ServiceInstance, view: NodeView) {
  return {
    ID: instance.id,
    Service: instance.name,
    Tags: instance.tags,
    Meta: instance.metadata,
    Port: instance.port ?? 0,
    Address: instance.address,
    TaggedAddresses: {},
    Weights: weights(instance),
    EnableTagOverride: false,
    Datacenter: view.datacenter,
    ...instanceIndexes(instance, view.indexes),
  };
}

/** Consul's CatalogService (catalog/service/:name): the node's fields and the service's, flattened. */
export function catalogService(instance: ServiceInstance, view: NodeView) {
  const node = consulNode(nodeOf(instance), view);
  return {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: view.datacenter,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    ServiceKind: '',
    ServiceID: instance.id,
    ServiceName: instance.name,
    ServiceTags: instance.tags,
    ServiceAddress: instance.address,
    ServiceTaggedAddresses: {},
    ServiceWeights: weights(instance),
    ServiceMeta: instance.metadata,
    ServicePort: instance.port ?? 0,
    ServiceEnableTagOverride: false,
    ServiceProxy: {},
    ServiceConnect: {},
    ...instanceIndexes(instance, view.indexes),
  };
}

const STATUS: Record<HealthCheck['status'], ConsulStatus> = { PASSING: 'passing', WARNING: 'warning', CRITICAL: 'critical' };

/** Consul's HealthCheck for one of an instance's checks. */
export function consulCheck(check: HealthCheck, instance: ServiceInstance, view: NodeView) {
  const index = view.indexes.of(`instance:${instance.id}`);
  const probed = check.kind !== 'TTL';
  return {
    Node: nodeOf(instance),
    CheckID: check.id,
    Name: check.name,
    Status: STATUS[check.status],
    Notes: '',
    Output: check.output,
    ServiceID: instance.id,
    ServiceName: instance.name,
    ServiceTags: instance.tags,
    Type: check.kind.toLowerCase(),
    Interval: probed ? formatDuration(check.intervalMs) : '',
    Timeout: probed ? formatDuration(check.timeoutMs) : '',
    ExposedPort: 0,
    Definition: {},
    CreateIndex: index,
    ModifyIndex: index,
  };
}

/** The check Consul shows while an instance is in maintenance: critical, the reason as its notes. */
export function maintenanceCheck(instance: ServiceInstance, view: NodeView) {
  const index = view.indexes.of(`instance:${instance.id}`);
  return {
    Node: nodeOf(instance),
    CheckID: maintenanceCheckId(instance.id),
    Name: MAINTENANCE_NAME,
    Status: 'critical' as ConsulStatus,
    Notes: instance.maintenanceReason ?? DEFAULT_MAINTENANCE_REASON,
    Output: '',
    ServiceID: instance.id,
    ServiceName: instance.name,
    ServiceTags: instance.tags,
    Type: 'maintenance',
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
    CreateIndex: index,
    ModifyIndex: index,
  };
}

/**
 * The check Consul shows for an instance followed from a source (SWITCHBOARD_SOURCES): its health as
 * the source reports it. Such an instance has no checks of its own here; without this one it would
 * pass every `?passing` filter whatever the source said.
 */
export function sourceCheck(instance: ServiceInstance & { source: string }, view: NodeView) {
  const index = view.indexes.of(`instance:${instance.id}`);
  return {
    Node: nodeOf(instance),
    CheckID: `_source:${instance.id}`,
    Name: `Source ${instance.source}`,
    Status: STATUS[instance.checkStatus],
    Notes: `The health source ${instance.source} reports (the instance is followed from it, read-only here).`,
    Output: '',
    ServiceID: instance.id,
    ServiceName: instance.name,
    ServiceTags: instance.tags,
    Type: 'source',
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
    CreateIndex: index,
    ModifyIndex: index,
  };
}

export type ConsulCheck = ReturnType<typeof consulCheck>;

/** Every check Consul would show for an instance: its own, its source's, and the maintenance check while in maintenance. */
export function checksOf(instance: ServiceInstance, checks: readonly HealthCheck[], view: NodeView): ConsulCheck[] {
  const shown = checks.map((check) => consulCheck(check, instance, view));
  if (instance.source !== null) shown.push(sourceCheck({ ...instance, source: instance.source }, view));
  if (instance.maintenanceSince) shown.push(maintenanceCheck(instance, view));
  return shown;
}
