import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import postgres from 'postgres';
import { databaseUrl } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { postgresForRun } from '../test/support/database-server.js';

/** A fresh, migrated database for one benchmark run: on DATABASE_URL's server, else embedded. */
export async function benchDatabase(): Promise<{ url: string; where: string; drop(): Promise<void> }> {
  const server = await postgresForRun(process.env['DATABASE_URL'], 'switchboard-bench');
  const name = `switchboard_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = databaseUrl(server.adminUrl, name);
  await runMigrations(url);
  return {
    url,
    where: server.embedded ? 'embedded PostgreSQL 17' : 'PostgreSQL at DATABASE_URL',
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
      await server.stop();
    },
  };
}

/** A trivial HTTP target in its own process, so its CPU is not counted as ours. */
export async function startHttpTargetProcess(): Promise<{ port: number; child: ChildProcess; stop(): void }> {
  const child = spawn(
    process.execPath,
    ['-e', "const s=require('http').createServer((q,r)=>r.end('ok'));s.keepAliveTimeout=60000;s.listen(0,'127.0.0.1',()=>console.log(s.address().port))"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line))));
  return { port, child, stop: () => child.kill() };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function machine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** Prints rows as an aligned text table. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

/**
 * Drives an HTTP endpoint with autocannon in its own process (so the load
 * generator's CPU is not the server's) and returns its summary.
 */
export async function loadTest(options: {
  url: string;
  /** A JSON body to POST; without one, GET. */
  body?: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const cli = new URL('../node_modules/autocannon/autocannon.js', import.meta.url).pathname;
  const args = [cli, '--json', '-c', String(options.connections), '-d', String(options.seconds)];
  if (options.body === undefined) args.push('-m', 'GET');
  else args.push('-m', 'POST', '-H', 'content-type=application/json', '-b', options.body);
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}=${value}`);
  args.push(options.url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const result = JSON.parse(output) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

/** A `switchboard serve` process for a benchmark, on a free port, once it is ready. */
export async function startServer(
  env: Record<string, string>,
  /** Node flags for the server process (e.g. `--cpu-prof`; `--inspect=127.0.0.1:0` sets `inspectorUrl`, for bench/heap.ts). */
  nodeArgs: readonly string[] = [],
  /** `compiled`: the server as `npm run build` compiles it (see compiledServer), not through tsx. */
  options: { compiled?: boolean } = {},
): Promise<{ url: string; pid: number; inspectorUrl: string | undefined; stop(): Promise<void> }> {
  const root = new URL('..', import.meta.url).pathname;
  const port = await freePort();
  const inspecting = nodeArgs.some((arg) => arg.startsWith('--inspect'));
  const entry = options.compiled ? [await compiledServer()] : ['--import', 'tsx', 'src/cli/main.ts'];
  const child = spawn(process.execPath, [...nodeArgs, ...entry, 'serve'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', inspecting ? 'pipe' : 'inherit'],
  });
  // Node announces its inspector on stderr before anything else; the rest passes through.
  const inspectorUrl =
    inspecting &&
    new Promise<string>((resolve) => {
      createInterface({ input: child.stderr! }).on('line', (line) => {
        const announced = /^Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
        if (announced) resolve(announced);
        else if (!/^(For help, see:|Debugger (attached|ending)|Waiting for the debugger)/.test(line)) process.stderr.write(`${line}\n`);
      });
    });
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ready = await fetch(`${origin}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (attempt > 300) throw new Error('server did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `${origin}/graphql`,
    pid: child.pid!,
    inspectorUrl: inspectorUrl ? await inspectorUrl : undefined,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

let compiled: Promise<string> | undefined;

/**
 * The server's entry point compiled as `npm run build` compiles it (tsc; without its type check, which
 * emits the same files), once per run, into a temporary directory beside links to what the compiled
 * code reads from the checkout. What production runs: tsx keeps function names by redefining `name`
 * on every function it creates, which turns each closure's properties into a 256-byte dictionary,
 * several kilobytes per open subscription.
 */
export function compiledServer(): Promise<string> {
  compiled ??= (async () => {
    const root = new URL('..', import.meta.url).pathname;
    const directory = mkdtempSync(join(tmpdir(), 'switchboard-bench-build-'));
    process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
    // The compiled modules find these two levels up, as dist/*/ does.
    for (const name of ['package.json', 'drizzle', 'dist', 'node_modules']) symlinkSync(join(root, name), join(directory, name));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const args = [tsc, '-p', 'tsconfig.build.json', '--noCheck', '--sourceMap', 'false', '--outDir', join(directory, 'build')];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`compiling the server exited with ${code}`);
    return join(directory, 'build', 'cli', 'main.js');
  })();
  return compiled;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs one of bench/load/*.ts in its own process and returns what it printed (JSON). */
export async function runLoadProcess<T>(script: string, params: unknown): Promise<T> {
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', `bench/load/${script}`, JSON.stringify(params)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench/load/${script} exited with ${code}`);
  return JSON.parse(output.trim().split('\n').at(-1)!) as T;
}

/** Starts a long-running helper script that prints its port when ready. */
export async function startPortProcess(args: readonly string[]): Promise<{ port: number; pid: number; stop(): void }> {
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
  });
  return { port, pid: child.pid!, stop: () => child.kill() };
}

/** Resident memory of a process, in bytes (Linux). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kilobytes === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kilobytes) * 1024;
}

/** Sets a configuration value through the GraphQL API; returns its new version. */
export async function setConfig(url: string, key: string, value: unknown): Promise<number> {
  const query = 'mutation ($key: String!, $value: JSON!) { setConfig(key: $key, value: $value) { version } }';
  return (await graphqlRequest<{ setConfig: { version: number } }>(url, query, { key, value })).setConfig.version;
}

/** Posts one GraphQL operation and returns its data, throwing on errors. */
async function graphqlRequest<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (body.errors || body.data === undefined) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}
