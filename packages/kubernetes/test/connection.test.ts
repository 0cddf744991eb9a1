import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { KubernetesRegistry } from '@switchboard/kubernetes';
import { describe, expect, it } from 'vitest';
import { tracked } from '../../../test/support/leaks.js';
import { endpointSlice, TOKEN, useStandIn, writeKubeconfig } from './support/cluster.js';

/** How the registry reaches the API server: kubeconfig and in-cluster credentials, and every way that fails. */
const cluster = useStandIn({ tokens: { [TOKEN]: 'allowed', 'service-account-token': 'allowed', 'no-rights': 'forbidden' } });

/** A TCP server that accepts connections and never says a word (a hung API server, a black-holing proxy). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return tracked('silent server', String(port), { port, close }, 'close');
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error & { code?: string },
  );
}

describe('KubernetesRegistry connections', () => {
  it('reads a kubeconfig file: the server, its CA, the token, and the context namespace', async () => {
    cluster.standIn.apply('endpointslices', endpointSlice('web-1', { namespace: 'from-context', service: 'web', endpoints: [{ address: '10.0.0.1' }] }));
    const kubeconfig = await writeKubeconfig(cluster.directory, {
      server: cluster.standIn.url,
      token: TOKEN,
      caFile: cluster.certificate.certFile,
      namespace: 'from-context',
      name: 'with-namespace',
    });
    const registry = tracked('KubernetesRegistry', 'context', new KubernetesRegistry({ kubeconfig }), 'close');
    try {
      expect(registry.backend).toBe(`kubernetes ${cluster.standIn.url} namespace from-context`);
      expect((await registry.discoverServices('web')).map((instance) => instance.address)).toEqual(['10.0.0.1']);
      const health = await registry.health();
      expect(health).toMatchObject({ backend: registry.backend, healthy: true, error: null });
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
      expect(cluster.standIn.requests.at(-1)).toMatchObject({ path: '/version', authorization: `Bearer ${TOKEN}` });
    } finally {
      await registry.close();
    }
  });

  it("runs in a cluster on the service account's token, CA and namespace", async () => {
    const prefix = join(cluster.directory, 'pod-root');
    const account = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(account, { recursive: true });
    await writeFile(join(account, 'token'), 'service-account-token');
    await writeFile(join(account, 'ca.crt'), cluster.certificate.cert);
    await writeFile(join(account, 'namespace'), 'in-cluster');
    cluster.standIn.apply('endpointslices', endpointSlice('api-1', { namespace: 'in-cluster', service: 'api', endpoints: [{ address: '10.0.1.1' }] }));
    const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
    process.env['KUBERNETES_SERVICE_HOST'] = '127.0.0.1';
    process.env['KUBERNETES_SERVICE_PORT'] = String(cluster.standIn.port);
    let registry: KubernetesRegistry | undefined;
    try {
      registry = tracked('KubernetesRegistry', 'in-cluster', new KubernetesRegistry({ serviceAccountPathPrefix: prefix }), 'close');
      expect(registry.backend).toBe(`kubernetes https://127.0.0.1:${cluster.standIn.port} namespace in-cluster`);
      const sets: string[][] = [];
      const stop = await registry.watchService('api', (instances) => sets.push(instances.map((instance) => instance.address)));
      await stop();
      expect(sets).toEqual([['10.0.1.1']]);
      expect(cluster.standIn.requests.at(-1)?.authorization).toBe('Bearer service-account-token');
      // A pod whose token is not mounted has no credentials: said as such, not as an outage.
      await rm(join(account, 'token'));
      const tokenless = tracked('KubernetesRegistry', 'no token', new KubernetesRegistry({ serviceAccountPathPrefix: prefix }), 'close');
      const refused = await failure(tokenless.discoverServices('api'));
      await tokenless.close();
      expect(refused).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('the credentials could not be loaded') });
    } finally {
      await registry?.close();
      for (const [name, value] of [
        ['KUBERNETES_SERVICE_HOST', saved.host],
        ['KUBERNETES_SERVICE_PORT', saved.port],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    // Out of a cluster, with no kubeconfig: said before anything is sent.
    expect(() => new KubernetesRegistry({})).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining('KUBERNETES_SERVICE_HOST') }),
    );
  });

  it('fails UNAUTHENTICATED on a token the server refuses, and FORBIDDEN where RBAC refuses', async () => {
    const wrong = await writeKubeconfig(cluster.directory, {
      server: cluster.standIn.url,
      token: 'wrong',
      caFile: cluster.certificate.certFile,
      name: 'wrong',
    });
    const registry = tracked('KubernetesRegistry', 'wrong token', new KubernetesRegistry({ kubeconfig: wrong, namespace: 'auth' }), 'close');
    const noRights = await writeKubeconfig(cluster.directory, {
      server: cluster.standIn.url,
      token: 'no-rights',
      caFile: cluster.certificate.certFile,
      name: 'rbac',
    });
    const forbidden = tracked('KubernetesRegistry', 'forbidden', new KubernetesRegistry({ kubeconfig: noRights, namespace: 'auth' }), 'close');
    try {
      for (const refused of [await failure(registry.discoverServices('web')), await failure(registry.watchService('web', () => {}))]) {
        expect(refused).toMatchObject({ code: 'UNAUTHENTICATED' });
        expect(refused.message).toContain(registry.backend);
        expect(refused.message).toContain('401');
      }
      const health = await registry.health();
      expect(health).toMatchObject({ healthy: false, latencyMs: null });
      expect(health.error).toContain('refused the credentials');

      const denied = await failure(forbidden.watchService('web', () => {}));
      expect(denied).toMatchObject({ code: 'FORBIDDEN' });
      expect(denied.message).toContain('cannot list resource "endpointslices"');
      expect(cluster.standIn.openWatches).toBe(0);
    } finally {
      await Promise.all([registry.close(), forbidden.close()]);
    }
  });

  it('fails UNAVAILABLE, naming the backend, when nothing listens, and after the dial timeout when nothing answers', async () => {
    const silent = await silentServer();
    const closed = await silentServer();
    await closed.close();
    const kubeconfigFor = (port: number, name: string) =>
      writeKubeconfig(cluster.directory, { server: `https://127.0.0.1:${port}`, token: TOKEN, caFile: cluster.certificate.certFile, name });
    const refusing = tracked(
      'KubernetesRegistry',
      'refused',
      new KubernetesRegistry({ kubeconfig: await kubeconfigFor(closed.port, 'refused'), namespace: 'x' }),
      'close',
    );
    const hanging = tracked(
      'KubernetesRegistry',
      'silent',
      new KubernetesRegistry({ kubeconfig: await kubeconfigFor(silent.port, 'silent'), namespace: 'x', dialTimeoutMs: 400 }),
      'close',
    );
    try {
      const refused = await failure(refusing.discoverServices('web'));
      expect(refused).toMatchObject({ code: 'UNAVAILABLE' });
      expect(refused.message).toContain(`kubernetes https://127.0.0.1:${closed.port} namespace x could not be reached`);
      expect(refused.message).toContain('ECONNREFUSED');

      let started = performance.now();
      const timedOut = await failure(hanging.watchService('web', () => {}));
      const waited = performance.now() - started;
      expect(timedOut).toMatchObject({ code: 'UNAVAILABLE' });
      expect(timedOut.message).toContain(`kubernetes https://127.0.0.1:${silent.port} namespace x did not answer: no answer within 400ms`);
      expect(waited).toBeGreaterThanOrEqual(390);
      expect(waited).toBeLessThan(3_000);
      started = performance.now();
      expect(await hanging.health()).toMatchObject({ healthy: false, error: expect.stringContaining('did not answer') });
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      await Promise.all([refusing.close(), hanging.close(), silent.close()]);
    }
  });

  it('refuses options it cannot use before sending anything', async () => {
    const bad = (options: object) => {
      try {
        new KubernetesRegistry(options);
      } catch (error) {
        return error as { code?: string; message: string };
      }
      throw new Error(`accepted ${JSON.stringify(options)}`);
    };
    expect(bad({ kubeconfig: join(cluster.directory, 'absent') })).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('could not be read'),
    });
    expect(bad({ kubeconfig: cluster.kubeconfig, dialTimeoutMs: -1 })).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('dialTimeoutMs'),
    });
    expect(bad({ kubeconfig: cluster.kubeconfig, addressType: 'FQDN' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('addressType'),
    });
    expect(bad({ kubeconfig: cluster.kubeconfig, context: 'absent' })).toMatchObject({ code: 'BAD_USER_INPUT' });
    const plainHttp = await writeKubeconfig(cluster.directory, {
      server: 'http://127.0.0.1:1',
      token: TOKEN,
      caFile: cluster.certificate.certFile,
      name: 'plain',
    });
    expect(bad({ kubeconfig: plainHttp })).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('insecure-skip-tls-verify') });

    // A selector only the server can judge: its 400 is the caller's mistake, not an outage.
    const registry = cluster.registry({ namespace: 'x', labelSelector: 'a in (b' });
    try {
      expect(await failure(registry.discoverServices('web'))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('labelSelector') });
    } finally {
      await registry.close();
    }
  });
});
