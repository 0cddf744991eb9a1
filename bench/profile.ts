/**
 * `npx tsx bench/profile.ts [discovery|registrations] [seconds]` — runs one load against a
 * server started with `--cpu-prof`, then prints where the server's CPU went: self time
 * by function, and inclusive time by module (a module counted once per sample it is on
 * the stack of), which is what each plugin and layer costs per request. The profile is
 * kept (its path is printed) for a flame graph in Chrome DevTools or speedscope.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DISCOVERY_QUERY, INSTANCES, seedCatalog, TARGET } from './discovery.js';
import type { LoopResult } from './load/loops.js';
import { benchDatabase, loadTest, printTable, runLoadProcess, startServer } from './support.js';

const [scenario = 'discovery', secondsArg = '10'] = process.argv.slice(2);
const seconds = Number(secondsArg);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** What a script URL belongs to: a package, a directory of ours, or Node itself. */
export function moduleOf(url: string): string {
  if (url === '') return '(native / VM)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
  }
  const ours = /\/(src|packages)\/(.+)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]!.replace(/\.[cm]?[jt]s$/, '')}`;
  return url;
}

export function summarise(profile: Profile): { total: number; self: [string, number][]; inclusive: [string, number][] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stackModules = new Map<number, Set<string>>();
  const modulesOf = (id: number): Set<string> => {
    let set = stackModules.get(id);
    if (set) return set;
    const up = parent.get(id);
    set = new Set(up === undefined ? [] : modulesOf(up));
    const frame = byId.get(id)!.callFrame;
    if (frame.url !== '') set.add(moduleOf(frame.url));
    stackModules.set(id, set);
    return set;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') return;
    total += delta;
    const name = `${frame.functionName || '(anonymous)'} ${moduleOf(frame.url)}:${frame.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + delta);
    for (const module of modulesOf(id)) inclusive.set(module, (inclusive.get(module) ?? 0) + delta);
  });
  const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { total, self: top(self, 30), inclusive: top(inclusive, 40) };
}

const database = await benchDatabase();
const profiles = mkdtempSync(join(tmpdir(), 'switchboard-profile-'));
try {
  // Written straight to the table: the catalog loads it when the server starts.
  if (scenario === 'discovery') await seedCatalog(database.url);
  const server = await startServer({ DATABASE_URL: database.url, SWITCHBOARD_HEALTH_WORKER: 'false' }, ['--cpu-prof', `--cpu-prof-dir=${profiles}`]);
  try {
    if (scenario === 'discovery') {
      const body = JSON.stringify({ query: DISCOVERY_QUERY, variables: { name: TARGET } });
      const result = await loadTest({ url: server.url, body, connections: 32, seconds });
      console.log(`discovery: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms} ms (${INSTANCES} instances per answer)`);
    } else {
      const result = await runLoadProcess<LoopResult>('registrations.ts', { url: server.url, concurrency: 64, seconds, prefix: 'profile' });
      console.log(`registrations: ${result.perSecond.toFixed(0)}/s, p99 ${result.p99Ms.toFixed(1)} ms`);
    }
  } finally {
    await server.stop();
  }
  const file = readdirSync(profiles).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('the server wrote no profile');
  const { total, self, inclusive } = summarise(JSON.parse(readFileSync(join(profiles, file), 'utf8')) as Profile);
  const percent = (value: number) => `${((100 * value) / total).toFixed(1)}%`;
  console.log(`\nProfile: ${join(profiles, file)} (${(total / 1e6).toFixed(1)} s of CPU, idle excluded)\n`);
  printTable(
    ['self', 'function'],
    self.map(([name, time]) => [percent(time), name]),
  );
  console.log('');
  printTable(
    ['inclusive', 'module'],
    inclusive.map(([name, time]) => [percent(time), name]),
  );
} finally {
  await database.drop();
}
