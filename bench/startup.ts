import { spawn } from 'node:child_process';
import { percentile, startServer } from './support.js';

/**
 * Start-up with and without the generated module (`switchboard generate`): each sample is a fresh process
 * (bench/load/startup.ts) that imports a service with 24 components and calls start() against a real server.
 * The two modes alternate, so a machine that slows down slows both. What is measured: the import (decorators
 * validate each declaration at class definition; the generated module is constants) and start() (the
 * registrations: one instance and 24 components, in dependency order, computed at run time from the decorators,
 * precomputed in the generated module).
 */
export const STARTUP_COMPONENTS = 24;

export interface StartupTimes {
  declareP50Ms: number;
  startP50Ms: number;
}

export async function runStartupBench(options: { databaseUrl: string; samples: number }): Promise<{ decorators: StartupTimes; generated: StartupTimes }> {
  const server = await startServer({ DATABASE_URL: options.databaseUrl });
  const times = { decorators: [] as { declareMs: number; startMs: number }[], generated: [] as { declareMs: number; startMs: number }[] };
  try {
    // One of each first, unmeasured: the first process pays for a cold tsx cache and a cold server.
    await sample('decorators', server.url);
    await sample('generated', server.url);
    for (let i = 0; i < options.samples; i++) {
      times.decorators.push(await sample('decorators', server.url));
      times.generated.push(await sample('generated', server.url));
    }
  } finally {
    await server.stop();
  }
  const summary = (list: { declareMs: number; startMs: number }[]): StartupTimes => ({
    declareP50Ms: percentile(
      list.map((each) => each.declareMs),
      50,
    ),
    startP50Ms: percentile(
      list.map((each) => each.startMs),
      50,
    ),
  });
  return { decorators: summary(times.decorators), generated: summary(times.generated) };
}

async function sample(mode: 'decorators' | 'generated', url: string): Promise<{ declareMs: number; startMs: number }> {
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load/startup.ts', mode, url], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench/load/startup.ts ${mode} exited with ${code}`);
  const result = JSON.parse(output.trim().split('\n').at(-1)!) as { declareMs: number; startMs: number; components: number };
  if (result.components !== STARTUP_COMPONENTS) throw new Error(`${mode}: registered ${result.components} components, not ${STARTUP_COMPONENTS}`);
  return result;
}
