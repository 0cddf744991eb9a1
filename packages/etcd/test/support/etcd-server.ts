import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { trackOpen } from '../../../../test/support/leaks.js';
import { sleep } from '../../../../test/support/wait.js';

/**
 * A real etcd for a test file: Debian's etcd-server (`/usr/bin/etcd`, what `.ci/run` installs), one member on
 * free loopback ports with a temporary data directory. It can be stopped and started again on the same data
 * and ports (a restart), and have authentication switched on.
 */
export interface EtcdServer {
  /** "http://127.0.0.1:<port>". */
  endpoint: string;
  /** "127.0.0.1:<port>", as the registry's backend name shows it. */
  address: string;
  version: string;
  /** Stops etcd (SIGTERM) and waits for it to exit; the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same data and ports, once it answers. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Creates `root` with this password and enables authentication (etcd requires a root user for it). */
  enableAuth(password: string): Promise<void>;
  /** Stops etcd and removes its data. */
  close(): Promise<void>;
}

const BINARY = ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((path) => existsSync(path));

/** Why the etcd tests cannot run here, or undefined when they can. */
export function etcdMissing(): string | undefined {
  return BINARY ? undefined : 'etcd is not installed (apt-get install etcd-server)';
}

export async function startEtcd(): Promise<EtcdServer> {
  if (!BINARY) throw new Error(etcdMissing());
  const binary = BINARY;
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim() ?? 'etcd';
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-etcd-test-'));
  const address = `127.0.0.1:${clientPort}`;
  const endpoint = `http://${address}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = ['--name', 'test', '--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint];
    args.push('--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `test=${peer}`, '--log-level', 'error');
    const started = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    started.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child = started;
    // Polling its /health is how one knows etcd serves: it has no readiness signal of its own.
    for (let attempt = 0; ; attempt++) {
      if (started.exitCode !== null) throw new Error(`etcd exited with ${started.exitCode} at start-up: ${stderr}`);
      const healthy = await fetch(`${endpoint}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (healthy) return;
      if (attempt > 200) throw new Error(`etcd did not become healthy within 20 s: ${stderr}`);
      await sleep(100);
    }
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  // Tracked as one server, however often a test restarts its process.
  const release = trackOpen('process', `etcd on ${address}`, () => close());
  const close = async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
    release();
  };
  return {
    endpoint,
    address,
    version,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async enableAuth(password: string) {
      const client = new Etcd3({ hosts: endpoint });
      try {
        await client.user('root').create(password);
        await client.user('root').addRole('root');
        await client.auth.authEnable({});
      } finally {
        client.close();
      }
    },
    close,
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
