import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { percentile, startServer } from './support.js';

/** Concurrent setConfig calls in one burst, over how many keys, and the busy loops of the loaded run. */
export const BURST_WRITES = 400;
export const BURST_KEYS = 8;
export const BUSY_LOOPS = 5;

export interface BurstResult {
  /** Writes answered with their new version, of BURST_WRITES. */
  succeeded: number;
  p99Ms: number;
  /** From the first request sent to the last answer received. */
  lastDoneMs: number;
  /** The others' error codes, counted. */
  errors: Record<string, number>;
  /** The 1-minute load average as the burst ended. */
  loadAverage: number;
}

const SET_CONFIG = 'mutation ($key: String!, $value: JSON!) { setConfig(key: $key, value: $value) { version } }';

/**
 * Same-key write bursts: two servers on one database, BURST_WRITES setConfig calls at once on
 * BURST_KEYS keys, half to each server, under the default request deadline (5 s); once on an
 * idle machine, once with BUSY_LOOPS busy-loop processes competing for its cores.
 */
export async function runBursts(options: { databaseUrl: string; loadSettleSeconds: number }): Promise<{ idle: BurstResult; loaded: BurstResult }> {
  const env = { DATABASE_URL: options.databaseUrl, SWITCHBOARD_SELF_REGISTER: 'false', SWITCHBOARD_HEALTH_WORKER: 'false' };
  const servers = await Promise.all([startServer(env), startServer(env)]);
  try {
    const urls = servers.map((server) => server.url);
    // Warm, as a server that has been running: the operation compiled, the pool's connections open and their statements prepared.
    await burst(urls, 'warmup');
    const idle = await burst(urls, 'idle');
    const loops = Array.from({ length: BUSY_LOOPS }, () => busyLoop());
    try {
      // Let the loops take the cores (and the load average climb) before the burst.
      await new Promise((resolve) => setTimeout(resolve, options.loadSettleSeconds * 1000));
      const loaded = await burst(urls, 'loaded');
      return { idle, loaded };
    } finally {
      for (const loop of loops) loop.kill();
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function burst(urls: readonly string[], run: string): Promise<BurstResult> {
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: BURST_WRITES }, async (_, n) => {
      const sent = performance.now();
      const error = await write(urls[n % urls.length]!, `bench.burst.${run}.key${n % BURST_KEYS}`, n);
      return { error, ms: performance.now() - sent, done: performance.now() - started };
    }),
  );
  const errors: Record<string, number> = {};
  for (const { error } of outcomes) if (error) errors[error] = (errors[error] ?? 0) + 1;
  return {
    succeeded: outcomes.filter((outcome) => !outcome.error).length,
    p99Ms: percentile(
      outcomes.map((outcome) => outcome.ms),
      99,
    ),
    lastDoneMs: Math.max(...outcomes.map((outcome) => outcome.done)),
    errors,
    loadAverage: loadavg()[0]!,
  };
}

/** One setConfig; its error code, or undefined when it succeeded. */
async function write(url: string, key: string, n: number): Promise<string | undefined> {
  try {
    const { status, text } = await post(url, JSON.stringify({ query: SET_CONFIG, variables: { key, value: { n } } }));
    const body = JSON.parse(text) as { data?: unknown; errors?: { extensions?: { code?: string; outcome?: string } }[] };
    if (!body.errors) return undefined;
    const { code, outcome } = body.errors[0]?.extensions ?? {};
    // A deadline's outcome says where the write was: queued (not_applied), or committed and awaiting its answer (unknown).
    return `${code ?? `HTTP ${status}`}${outcome ? ` (${outcome})` : ''}`;
  } catch (error) {
    return `transport: ${(error as Error).message}`;
  }
}

/**
 * A POST on a connection of its own: a burst opens one per request anyway, and a kept-alive one
 * reused after a pause can meet the server closing it (a client's error, not the write's).
 */
function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

function busyLoop(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}
