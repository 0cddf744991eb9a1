import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubernetesRegistry, type KubernetesRegistryOptions } from '@switchboard/kubernetes';
import { afterAll, beforeAll } from 'vitest';
import { tracked } from '../../../../test/support/leaks.js';
import { ApiStandIn, type StandInOptions } from './api-stand-in.js';
import type { KubeObject } from './selectors.js';
import { selfSignedCertificate, type Certificate } from './tls.js';

export const TOKEN = 'stand-in-token';

export interface StandInFixture {
  standIn: ApiStandIn;
  certificate: Certificate;
  /** A kubeconfig file naming the stand-in, its CA and TOKEN. */
  kubeconfig: string;
  directory: string;
  /** A registry over the stand-in with the fixture's kubeconfig (closed by the leak check if a test forgets). */
  registry(options?: KubernetesRegistryOptions): KubernetesRegistry;
}

/**
 * A stand-in API server over https with a self-signed certificate, requiring TOKEN, for the file: started in
 * beforeAll, closed in afterAll. Tests keep apart by namespace.
 */
export function useStandIn(options: Omit<StandInOptions, 'tls'> = { tokens: { [TOKEN]: 'allowed' } }): StandInFixture {
  const fixture = {} as StandInFixture;
  beforeAll(async () => {
    fixture.directory = await mkdtemp(join(tmpdir(), 'switchboard-kubernetes-'));
    fixture.certificate = await selfSignedCertificate(fixture.directory);
    fixture.standIn = tracked('kubernetes API stand-in', 'file stand-in', await ApiStandIn.start({ ...options, tls: fixture.certificate }), 'close');
    fixture.kubeconfig = await writeKubeconfig(fixture.directory, { server: fixture.standIn.url, token: TOKEN, caFile: fixture.certificate.certFile });
    fixture.registry = (registryOptions = {}) =>
      tracked('KubernetesRegistry', fixture.standIn.url, new KubernetesRegistry({ kubeconfig: fixture.kubeconfig, ...registryOptions }), 'close');
  });
  afterAll(async () => {
    await fixture.standIn?.close();
    if (fixture.directory) await rm(fixture.directory, { recursive: true, force: true });
  });
  return fixture;
}

/** Writes a kubeconfig (JSON, which is YAML) with one cluster, user and context; returns its path. */
export async function writeKubeconfig(
  directory: string,
  { server, token, caFile, namespace, name = 'kubeconfig' }: { server: string; token: string; caFile?: string; namespace?: string; name?: string },
): Promise<string> {
  const path = join(directory, name);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'stand-in', cluster: { server, ...(caFile ? { 'certificate-authority': caFile } : { 'insecure-skip-tls-verify': true }) } }],
    users: [{ name: 'tester', user: { token } }],
    contexts: [{ name: 'stand-in', context: { cluster: 'stand-in', user: 'tester', ...(namespace ? { namespace } : {}) } }],
    'current-context': 'stand-in',
  };
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}

export interface EndpointSpec {
  address: string;
  /** The pod behind it (targetRef); none: an endpoint of a Service without a selector. */
  pod?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  nodeName?: string;
  zone?: string;
}

export interface SliceSpec {
  namespace: string;
  service: string;
  endpoints: EndpointSpec[];
  ports?: { name?: string; port: number; protocol?: string; appProtocol?: string }[];
  labels?: Record<string, string>;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
}

/** An EndpointSlice as the EndpointSlice controller writes it for a Service. */
export function endpointSlice(name: string, spec: SliceSpec): KubeObject {
  return {
    metadata: {
      name,
      namespace: spec.namespace,
      labels: { 'kubernetes.io/service-name': spec.service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', ...spec.labels },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: spec.service, uid: 'service-uid', controller: true, blockOwnerDeletion: true }],
    },
    addressType: spec.addressType ?? 'IPv4',
    endpoints: spec.endpoints.map((endpoint) => ({
      addresses: [endpoint.address],
      conditions: {
        ready: endpoint.ready ?? !endpoint.terminating,
        serving: endpoint.serving ?? endpoint.ready ?? true,
        terminating: endpoint.terminating ?? false,
      },
      ...(endpoint.pod ? { targetRef: { kind: 'Pod', namespace: spec.namespace, name: endpoint.pod, uid: `uid-${endpoint.pod}` } } : {}),
      ...(endpoint.nodeName ? { nodeName: endpoint.nodeName } : {}),
      ...(endpoint.zone ? { zone: endpoint.zone } : {}),
    })),
    ports: spec.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

export interface PodSpec {
  namespace: string;
  ip?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  ready?: boolean;
}

export function pod(name: string, spec: PodSpec): KubeObject {
  const ready = spec.ready ?? true;
  return {
    metadata: { name, namespace: spec.namespace, labels: { app: 'web', ...spec.labels }, ...(spec.annotations ? { annotations: spec.annotations } : {}) },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'example/app:1' }] },
    status: {
      phase: spec.phase ?? 'Running',
      podIP: spec.ip,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-12-01T10:00:00Z' }],
    },
  };
}
