import { isIP } from 'node:net';
import { semanticVersion, ServiceLimits, textFaults } from '@switchboard/contracts';
import type { HealthStatusType, ServiceInstance } from '@switchboard/sdk';
import { recordOf, textOf, type KubeObject } from './objects.js';

/** The label the EndpointSlice controller puts on every slice of a Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Pod labels and annotations an instance is read from (docs/backends/kubernetes.md). */
export const VERSION_LABEL = 'app.kubernetes.io/version';
export const ANNOTATIONS = {
  version: 'switchboard.io/version',
  tags: 'switchboard.io/tags',
  weight: 'switchboard.io/weight',
  priority: 'switchboard.io/priority',
  protocols: 'switchboard.io/protocols',
} as const;

export interface InstanceSettings {
  namespace: string;
  addressType: 'IPv4' | 'IPv6';
  portName: string | undefined;
  /** Whether Pods are read: then an endpoint whose pod is not seen (not yet, or not selected) is left out. */
  pods: boolean;
  /** `qualified`: `<pod>.<service>.<namespace>`; `pod`: the pod's name alone. */
  instanceIds: 'qualified' | 'pod';
}

/** Says once that an object, or a value in it, was skipped. */
export type Warn = (object: KubeObject, message: string) => void;

/** Ids are on Switchboard's rules for an instance id; metadata keys hold no "/". */
const METADATA_KEY = /^[A-Za-z0-9_.-]+$/;
const PROTOCOL = /^[a-z][a-z0-9+.-]*$/;
const UNKNOWN_TIME = new Date(0).toISOString();

/**
 * Every instance the slices describe: one per endpoint (its first address) of the configured address type,
 * whatever its health, in service then id order. An instance's id is `<pod>.<service>.<namespace>` (as the
 * pod's DNS name under a headless Service; for an endpoint without a pod, its hostname or its address with
 * dashes): stable when the controller rebalances slices, and unique when one pod backs several Services or
 * two namespaces have pods of one name. With `instanceIds: 'pod'`, a pod's endpoint has the pod's name.
 */
export function toInstances(slices: readonly KubeObject[], pods: ReadonlyMap<string, KubeObject>, settings: InstanceSettings, warn: Warn): ServiceInstance[] {
  const instances = new Map<string, ServiceInstance>();
  for (const slice of slices) {
    for (const instance of sliceInstances(slice, pods, settings, warn)) {
      const key = `${instance.name}\0${instance.id}`;
      if (!instances.has(key)) instances.set(key, instance);
    }
  }
  return [...instances.values()].sort((a, b) => (a.name === b.name ? compare(a.id, b.id) : compare(a.name, b.name)));
}

function sliceInstances(slice: KubeObject, pods: ReadonlyMap<string, KubeObject>, settings: InstanceSettings, warn: Warn): ServiceInstance[] {
  const service = textOf(recordOf(slice.metadata.labels)?.[SERVICE_NAME_LABEL]);
  if (!service) {
    warn(slice, `EndpointSlice "${slice.metadata.name}" has no ${SERVICE_NAME_LABEL} label: skipped.`);
    return [];
  }
  // A dual-stack Service has a slice per family: only the configured one is read.
  if (slice['addressType'] !== settings.addressType) return [];
  const endpoints = slice['endpoints'] ?? [];
  if (!Array.isArray(endpoints)) {
    warn(slice, `EndpointSlice "${slice.metadata.name}" has endpoints that are not a list: skipped.`);
    return [];
  }
  const port = portOf(slice, settings.portName, warn);
  const instances: ServiceInstance[] = [];
  for (const [index, value] of endpoints.entries()) {
    const endpoint = recordOf(value);
    const address = textOf(Array.isArray(endpoint?.['addresses']) ? endpoint['addresses'][0] : undefined);
    if (!endpoint || !address || isIP(address) !== (settings.addressType === 'IPv4' ? 4 : 6)) {
      warn(slice, `EndpointSlice "${slice.metadata.name}": endpoint ${index} has no ${settings.addressType} address: skipped.`);
      continue;
    }
    const target = recordOf(endpoint['targetRef']);
    const podName = target?.['kind'] === 'Pod' ? textOf(target['name']) : undefined;
    const pod = podName === undefined ? undefined : pods.get(podName);
    // The pod is not (yet) seen, or the fieldSelector leaves it out: so is its endpoint.
    if (settings.pods && podName !== undefined && !pod) continue;
    const key = podName ?? textOf(endpoint['hostname']) ?? address.replaceAll(/[.:]/g, '-');
    const id = settings.instanceIds === 'pod' && podName !== undefined ? podName : `${key}.${service}.${settings.namespace}`;
    instances.push(instanceOf({ id, service, address, port, endpoint, slice, pod, settings, warn }));
  }
  return instances;
}

interface EndpointFacts {
  id: string;
  service: string;
  address: string;
  port: { number: number | null; appProtocol: string | undefined };
  endpoint: Record<string, unknown>;
  slice: KubeObject;
  pod: KubeObject | undefined;
  settings: InstanceSettings;
  warn: Warn;
}

function instanceOf({ id, service, address, port, endpoint, slice, pod, settings, warn }: EndpointFacts): ServiceInstance {
  const labels = recordOf(pod?.metadata.labels) ?? {};
  const annotations = recordOf(pod?.metadata.annotations) ?? {};
  const annotated = (name: string) => textOf(annotations[name]);
  const registeredAt = timeOf(pod?.metadata.creationTimestamp) ?? timeOf(slice.metadata.creationTimestamp) ?? UNKNOWN_TIME;
  const protocols = listOf(annotated(ANNOTATIONS.protocols) ?? port.appProtocol).map((protocol) => protocol.toLowerCase());
  return {
    id,
    name: service,
    version: versionOf(annotated(ANNOTATIONS.version) ?? textOf(labels[VERSION_LABEL])),
    address,
    port: port.number,
    tags: [...new Set(listOf(annotated(ANNOTATIONS.tags)))]
      .filter((tag) => tag.length <= ServiceLimits.tagLength && textFaults(tag, 'none').length === 0)
      .slice(0, ServiceLimits.tags),
    metadata: metadataOf(labels, {
      namespace: settings.namespace,
      pod: pod?.metadata.name,
      node: textOf(endpoint['nodeName']),
      zone: textOf(endpoint['zone']),
    }),
    endpoints: [],
    protocols: protocols.filter((protocol) => PROTOCOL.test(protocol)).slice(0, ServiceLimits.protocols),
    weight: numberOf(pod, annotated(ANNOTATIONS.weight), ANNOTATIONS.weight, ServiceLimits.maxWeight, warn) ?? 1,
    priority: numberOf(pod, annotated(ANNOTATIONS.priority), ANNOTATIONS.priority, ServiceLimits.maxPriority, warn) ?? 0,
    ttl: null,
    registeredAt,
    updatedAt: readySince(pod) ?? registeredAt,
    lastHeartbeatAt: null,
    expiresAt: null,
    health: healthOf(recordOf(endpoint['conditions'])),
  };
}

/**
 * The endpoint's conditions as a check status: ready → PASSING; terminating but still serving (draining)
 * → WARNING; anything else → CRITICAL. A condition left out means ready, as the API documents (`serving`
 * left out of a terminating endpoint means it is not serving).
 */
export function healthOf(conditions: Record<string, unknown> | undefined): { status: HealthStatusType; output: string } {
  if (conditions?.['terminating'] === true) {
    return conditions['serving'] === true
      ? { status: 'WARNING', output: 'Endpoint terminating, still serving.' }
      : { status: 'CRITICAL', output: 'Endpoint terminating.' };
  }
  return conditions?.['ready'] === false ? { status: 'CRITICAL', output: 'Endpoint not ready.' } : { status: 'PASSING', output: 'Endpoint ready.' };
}

/** The slice's port by name (or its first): a slice without one gives null, as a headless Service without ports does. */
function portOf(slice: KubeObject, name: string | undefined, warn: Warn): { number: number | null; appProtocol: string | undefined } {
  const ports = Array.isArray(slice['ports']) ? slice['ports'].map(recordOf) : [];
  const chosen = name === undefined ? ports[0] : ports.find((port) => port?.['name'] === name);
  if (!chosen) return { number: null, appProtocol: undefined };
  const number = chosen['port'];
  if (number !== undefined && number !== null && !(Number.isInteger(number) && (number as number) >= 1 && (number as number) <= 65535)) {
    warn(slice, `EndpointSlice "${slice.metadata.name}" has port ${JSON.stringify(number)}, not one from 1 to 65535: its instances have no port.`);
    return { number: null, appProtocol: undefined };
  }
  return { number: (number as number | null | undefined) ?? null, appProtocol: textOf(chosen['appProtocol']) };
}

function versionOf(text: string | undefined): string | null {
  if (text === undefined) return null;
  const parsed = semanticVersion().safeParse(text);
  return parsed.success ? parsed.data : null;
}

function numberOf(pod: KubeObject | undefined, text: string | undefined, annotation: string, max: number, warn: Warn): number | undefined {
  if (text === undefined || !pod) return undefined;
  const value = Number(text);
  if (/^\d+$/.test(text.trim()) && value <= max) return value;
  warn(pod, `Pod "${pod.metadata.name}": annotation ${annotation} "${text.slice(0, 64)}" is not a whole number from 0 to ${max}: ignored.`);
  return undefined;
}

/** The facts of where the endpoint runs, then the pod's unprefixed labels (app, tier), within Switchboard's limits. */
function metadataOf(labels: Record<string, unknown>, facts: Record<string, string | undefined>): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(facts)) if (value) metadata[`k8s-${key}`] = value;
  for (const [key, value] of Object.entries(labels).sort(([a], [b]) => compare(a, b))) {
    if (Object.keys(metadata).length >= ServiceLimits.metadataPairs) break;
    if (typeof value !== 'string' || !METADATA_KEY.test(key) || key.length > ServiceLimits.metadataKeyLength) continue;
    if (key !== '__proto__' && !Object.hasOwn(metadata, key)) metadata[key] = value;
  }
  return metadata;
}

/** When the pod last became ready or unready: the instance's last change. */
function readySince(pod: KubeObject | undefined): string | undefined {
  const conditions = recordOf(pod?.['status'])?.['conditions'];
  if (!Array.isArray(conditions)) return undefined;
  const ready = conditions.map(recordOf).find((condition) => condition?.['type'] === 'Ready');
  return timeOf(ready?.['lastTransitionTime']);
}

function timeOf(value: unknown): string | undefined {
  const time = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function listOf(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
