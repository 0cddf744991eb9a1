import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackOpen } from './leaks.js';
import { withTimeout } from './wait.js';

/** A real Prometheus, as `apt-get install prometheus` puts it. */
export const PROMETHEUS = '/usr/bin/prometheus';

/** Why tests with a real Prometheus cannot run here, or undefined when they can. */
export const prometheusMissing = existsSync(PROMETHEUS) ? undefined : `${PROMETHEUS} is not installed (apt-get install prometheus)`;

/** A target as Prometheus's /api/v1/targets lists it. */
export interface ActiveTarget {
  scrapePool: string;
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface RunningPrometheus {
  url: string;
  /** The active targets, as discovered so far. */
  activeTargets(): Promise<ActiveTarget[]>;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with `config` (prometheus.yml's content as an object: JSON is YAML) on a port
 * of its own choosing, and resolves once it says it is ready to serve. The file's leak check stops
 * it if the caller does not.
 */
export async function startPrometheus(config: object): Promise<RunningPrometheus> {
  const directory = await mkdtemp(join(tmpdir(), 'switchboard-prometheus-'));
  await writeFile(join(directory, 'prometheus.yml'), JSON.stringify(config));
  const child = spawn(
    PROMETHEUS,
    [`--config.file=${join(directory, 'prometheus.yml')}`, `--storage.tsdb.path=${join(directory, 'data')}`, '--web.listen-address=127.0.0.1:0'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const release = trackOpen('process', `prometheus (pid ${child.pid})`, async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    release();
    await rm(directory, { recursive: true, force: true });
  };

  // Port 0: Prometheus logs the port it got ("Listening on"), then "Server is ready" once it serves.
  let log = '';
  let address: string | undefined;
  const ready = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
      address ??= /msg="Listening on" address=(\S+)/.exec(log)?.[1];
      if (address && log.includes('Server is ready to receive web requests')) resolve(address);
    });
    child.once('exit', (code) => reject(new Error(`prometheus exited with ${code}: ${log}`)));
  });
  try {
    const url = `http://${await withTimeout(ready, 30_000, 'prometheus was not ready within 30s')}`;
    return {
      url,
      async activeTargets() {
        const body = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: ActiveTarget[] } };
        return body.data.activeTargets;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
