import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support.js';

export interface Etcd {
  endpoint: string;
  version: string;
  stop(): Promise<void>;
}

/**
 * A real etcd on loopback ports with a temporary data directory, to measure against
 * in the same run. Installs Debian's etcd-server when it is missing and we are root;
 * otherwise returns a reason to skip the etcd rows.
 */
export async function startEtcd(): Promise<Etcd | { skipped: string }> {
  const binary = findEtcd() ?? install();
  if (typeof binary !== 'string') return binary;
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim() ?? 'etcd';
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-etcd-'));
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    binary,
    [
      '--name',
      'bench',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `bench=${peer}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) return { skipped: `etcd exited with ${child.exitCode} at start-up` };
    const healthy = await fetch(`${client}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    if (attempt > 100) return { skipped: 'etcd did not become healthy within 10 s' };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint: client,
    version,
    stop: async () => {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function findEtcd(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  return found || undefined;
}

function install(): string | { skipped: string } {
  if (process.getuid?.() !== 0) return { skipped: 'etcd is not installed (apt-get install etcd-server needs root)' };
  try {
    console.log('installing etcd-server from Debian packages for the comparison…');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (error) {
    return { skipped: `etcd-server could not be installed: ${(error as Error).message.split('\n')[0]}` };
  }
  return findEtcd() ?? { skipped: 'etcd-server installed, but no etcd binary found' };
}
