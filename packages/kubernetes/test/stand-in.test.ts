import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, DiscoveryV1Api, KubeConfig, makeInformer, type V1EndpointSlice } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { tracked } from '../../../test/support/leaks.js';
import { eventually, withTimeout } from '../../../test/support/wait.js';
import { endpointSlice, pod, TOKEN, useStandIn, writeKubeconfig } from './support/cluster.js';

/**
 * The API stand-in checked by clients nobody here wrote: if kubectl or client-node's informer would not
 * accept an answer, no real server would give it, and the backend's tests against it prove nothing.
 */
const cluster = useStandIn();

const KUBECTL = '/usr/bin/kubectl';
const kubectlMissing = existsSync(KUBECTL) ? undefined : `${KUBECTL} is not installed`;

function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(KUBECTL, ['--kubeconfig', cluster.kubeconfig, '--cache-dir', join(cluster.directory, 'kubectl-cache'), ...args], {
    timeout: 20_000,
  });
}

describe.skipIf(kubectlMissing !== undefined)('kubectl against the stand-in', () => {
  it('lists EndpointSlices by label selector after discovering the API, over https with a bearer token', async () => {
    const namespace = 'kubectl-list';
    cluster.standIn.apply(
      'endpointslices',
      endpointSlice('web-1', { namespace, service: 'web', labels: { app: 'x' }, endpoints: [{ address: '10.1.0.1', pod: 'web-a' }] }),
    );
    cluster.standIn.apply('endpointslices', endpointSlice('db-1', { namespace, service: 'db', labels: { app: 'y' }, endpoints: [{ address: '10.1.0.9' }] }));

    const { stdout } = await kubectl('get', 'endpointslices', '-n', namespace, '-l', 'app=x', '-o', 'json');
    const list = JSON.parse(stdout) as { items: V1EndpointSlice[] };
    expect(list.items.map((item) => item.metadata?.name)).toEqual(['web-1']);
    expect(list.items[0]).toMatchObject({
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.1.0.1'], targetRef: { kind: 'Pod', name: 'web-a' } }],
    });
    // kubectl found the resource through discovery, and sent the token on every request.
    const paths = cluster.standIn.requests.map((request) => request.path);
    expect(paths).toEqual(expect.arrayContaining(['/api', '/apis', '/apis/discovery.k8s.io/v1']));
    expect(cluster.standIn.requests.every((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('lists pods by field selector, and is refused with a wrong token', async () => {
    const namespace = 'kubectl-fields';
    cluster.standIn.apply('pods', pod('running', { namespace }));
    cluster.standIn.apply('pods', pod('pending', { namespace, phase: 'Pending' }));
    const { stdout } = await kubectl('get', 'pods', '-n', namespace, '--field-selector', 'status.phase=Running', '-o', 'json');
    expect((JSON.parse(stdout) as { items: { metadata: { name: string } }[] }).items.map((item) => item.metadata.name)).toEqual(['running']);

    const wrong = await writeKubeconfig(cluster.directory, {
      server: cluster.standIn.url,
      token: 'wrong',
      caFile: cluster.certificate.certFile,
      name: 'wrong',
    });
    const refused = await promisify(execFile)(KUBECTL, ['--kubeconfig', wrong, 'get', 'pods', '-n', namespace]).catch((error: unknown) => error);
    expect(String((refused as { stderr?: string }).stderr)).toMatch(/must be logged in|Unauthorized|provide credentials/i);
  });

  it('reads a change through `kubectl get --watch`', async () => {
    const namespace = 'kubectl-watch';
    cluster.standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', endpoints: [{ address: '10.2.0.1' }] }));
    const child = spawn(
      KUBECTL,
      [
        '--kubeconfig',
        cluster.kubeconfig,
        '--cache-dir',
        join(cluster.directory, 'kubectl-cache'),
        'get',
        'endpointslices',
        '-n',
        namespace,
        '--watch',
        '-o',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const watching = tracked('kubectl --watch', namespace, { stop: async () => (child.kill(), await exited) }, 'stop');
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await eventually(() => (output.includes('10.2.0.1') ? true : undefined), 15_000);
      // kubectl is now watching from the list's resourceVersion.
      await eventually(() => (cluster.standIn.requests.some((request) => request.watch && request.query.get('resourceVersion')) ? true : undefined));
      cluster.standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', endpoints: [{ address: '10.2.0.2' }] }));
      await eventually(() => (output.includes('10.2.0.2') ? true : undefined), 15_000);
      expect(output).not.toMatch(/error/i);
    } finally {
      await watching.stop();
    }
  });
});

describe("client-node's own informer against the stand-in", () => {
  function informerOver(namespace: string, labelSelector?: string) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfig);
    const api = kubeConfig.makeApiClient(DiscoveryV1Api);
    const path = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
    const informer = makeInformer(kubeConfig, path, () => api.listNamespacedEndpointSlice({ namespace, labelSelector }), labelSelector);
    return tracked('client-node informer', namespace, informer, 'stop');
  }

  const addresses = (slices: readonly V1EndpointSlice[]) => slices.flatMap((slice) => slice.endpoints?.flatMap((endpoint) => endpoint.addresses) ?? []).sort();

  it('lists with the typed client, then follows adds, updates and deletes by watch', async () => {
    const namespace = 'informer-follow';
    cluster.standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', labels: { app: 'x' }, endpoints: [{ address: '10.3.0.1' }] }));
    cluster.standIn.apply(
      'endpointslices',
      endpointSlice('other', { namespace, service: 'other', labels: { app: 'y' }, endpoints: [{ address: '10.3.9.9' }] }),
    );
    const informer = informerOver(namespace, 'app=x');
    const events: string[] = [];
    informer.on('add', (slice) => events.push(`add ${slice.metadata?.name}`));
    informer.on('update', (slice) => events.push(`update ${slice.metadata?.name}`));
    informer.on('delete', (slice) => events.push(`delete ${slice.metadata?.name}`));
    const errors: unknown[] = [];
    informer.on('error', (error) => errors.push(error));
    try {
      await informer.start();
      expect(addresses(informer.list())).toEqual(['10.3.0.1']);
      cluster.standIn.apply(
        'endpointslices',
        endpointSlice('web-1', { namespace, service: 'web', labels: { app: 'x' }, endpoints: [{ address: '10.3.0.2' }] }),
      );
      cluster.standIn.apply(
        'endpointslices',
        endpointSlice('web-2', { namespace, service: 'web', labels: { app: 'x' }, endpoints: [{ address: '10.3.0.3' }] }),
      );
      cluster.standIn.remove('endpointslices', namespace, 'web-1');
      await eventually(() => (events.length === 4 ? true : undefined));
      expect(events).toEqual(['add web-1', 'update web-1', 'add web-2', 'delete web-1']);
      expect(addresses(informer.list())).toEqual(['10.3.0.3']);
      expect(errors).toEqual([]);
    } finally {
      await informer.stop();
    }
  });

  it('relists after a watch is told 410 Gone, and ends with the state the server has', async () => {
    const namespace = 'informer-gone';
    cluster.standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', endpoints: [{ address: '10.4.0.1' }] }));
    cluster.standIn.apply('endpointslices', endpointSlice('web-2', { namespace, service: 'web', endpoints: [{ address: '10.4.0.2' }] }));
    const informer = informerOver(namespace);
    const lists = () => cluster.standIn.requests.filter((request) => !request.watch && request.path.includes(`/namespaces/${namespace}/`)).length;
    try {
      await informer.start();
      expect(lists()).toBe(1);
      // Its watch ends as a server's timeout ends it (client-node's informer stops at a cut connection, which
      // its user must restart); the informer watches again, from a resourceVersion compacted meanwhile.
      cluster.standIn.holdWatches();
      cluster.standIn.endWatches();
      cluster.standIn.remove('endpointslices', namespace, 'web-1');
      cluster.standIn.apply('endpointslices', endpointSlice('web-3', { namespace, service: 'web', endpoints: [{ address: '10.4.0.3' }] }));
      cluster.standIn.compact();
      cluster.standIn.releaseWatches();
      await eventually(() => (addresses(informer.list()).join() === '10.4.0.2,10.4.0.3' ? true : undefined));
      expect(lists()).toBe(2);
    } finally {
      cluster.standIn.releaseWatches();
      await informer.stop();
    }
  });

  it('reads pods with the typed core client, and a ConfigMap by name', async () => {
    const namespace = 'informer-core';
    cluster.standIn.apply('pods', pod('web-a', { namespace, labels: { tier: 'front' } }));
    cluster.standIn.apply('configmaps', { metadata: { name: 'settings', namespace }, data: { limit: '10' } });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfig);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const pods = await withTimeout(core.listNamespacedPod({ namespace, labelSelector: 'tier in (front,back)' }), 10_000, 'no answer');
    expect(pods.items.map((item) => item.metadata?.name)).toEqual(['web-a']);
    expect(pods.items[0]?.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const configMap = await core.readNamespacedConfigMap({ namespace, name: 'settings' });
    expect(configMap.data).toEqual({ limit: '10' });
  });
});
