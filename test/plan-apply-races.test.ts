import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComponentsDocument, ConfigDocument, EventsDocument, LatestEventIdDocument, type SwitchboardClient } from '@switchboard/client';
import { runCli } from './support/cli.js';
import { useServerPair } from './support/nodes.js';

// `switchboard apply` of one manifest, many times at once, through two server processes on one database:
// the registry ends as one apply would leave it, each component is created once (one event), each
// configuration default is set by exactly one of them (the others are told CONFLICT, not overwritten),
// and every report accounts for every step it planned.

const ADMIN_TOKEN = 'plan-apply-races-admin-token-0123456789';
const servers = useServerPair({ SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN });
const APPLIES = 8;
const COMPONENTS = 20;
const DEFAULTS = 5;

let admin: SwitchboardClient;
let directory: string;
beforeAll(async () => {
  admin = servers.clients.create(servers.a.url, ADMIN_TOKEN);
  directory = await mkdtemp(path.join(tmpdir(), 'sbt-apply-races-'));
});
afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

type Step = { kind: 'register' | 'unregister'; id: string } | { kind: 'setDefault'; key: string };
interface Report {
  plan: unknown;
  applied: Step[];
  notApplied: Step[];
  unknown: Step[];
  refusal: { code: string } | null;
}

/** A chain of components (each depends on the one before) and a service with configuration defaults. */
function manifest(): Record<string, unknown> {
  const components = Array.from({ length: COMPONENTS }, (_, index) => ({
    id: `races.step-${index}`,
    type: 'STEP',
    name: `races-step-${index}`,
    version: '1.0.0',
    dependencies: index === 0 ? [] : [`races.step-${index - 1}`],
  }));
  const configFields = Array.from({ length: DEFAULTS }, (_, index) => ({ field: `f${index}`, key: `races.default-${index}`, default: index }));
  return {
    manifestVersion: 1,
    project: 'races',
    services: [{ name: 'races', version: '1.0.0', port: 8080, className: 'Races', source: { file: 'races.ts', line: 1, column: 1 }, configFields }],
    components,
  };
}

describe('concurrent applies of one manifest through two servers', () => {
  it(`${APPLIES} at once leave the registry as one would, with one event per component and one winner per default`, async () => {
    const file = path.join(directory, 'switchboard.manifest.json');
    await writeFile(file, JSON.stringify(manifest()));
    const { latestEventId: before } = await admin.request(LatestEventIdDocument, {});

    const runs = await Promise.all(
      Array.from({ length: APPLIES }, (_, index) =>
        runCli(['apply', file, '--yes', '--json'], {
          env: { SWITCHBOARD_URL: servers.nodes[index % 2]!.url, SWITCHBOARD_TOKEN: ADMIN_TOKEN },
          timeoutMs: 120_000,
        }),
      ),
    );

    // Each finished, or lost a default's race and said so (CONFLICT, exit 4); none is unsure of what it did.
    const reports = runs.map((run) => ({ code: run.code, report: run.json<Report>(), stderr: run.stderr }));
    for (const { code, report, stderr } of reports) {
      expect([0, 4], stderr).toContain(code);
      if (code === 4) expect(report.refusal?.code).toBe('CONFLICT');
      expect(report.unknown).toEqual([]);
    }

    // Exactly one apply set each default: the others found it set and were refused, never overwrote it.
    const setters = new Map<string, number>();
    for (const { report } of reports) {
      for (const step of report.applied) if (step.kind === 'setDefault') setters.set(step.key, (setters.get(step.key) ?? 0) + 1);
    }
    expect(Object.fromEntries(setters)).toEqual(Object.fromEntries(Array.from({ length: DEFAULTS }, (_, index) => [`races.default-${index}`, 1])));

    // The log: each component created once, each default changed once, nothing else.
    const { events } = await admin.request(EventsDocument, { after: before, first: 1000, types: ['component.*', 'config.changed'] });
    const created = events.filter((event) => event.type === 'component.registered').map((event) => event.data as { id: string; created: boolean });
    expect(created.every((data) => data.created)).toBe(true);
    expect(created.map((data) => data.id).sort()).toEqual(Array.from({ length: COMPONENTS }, (_, index) => `races.step-${index}`).sort());
    expect(events.filter((event) => event.type === 'config.changed')).toHaveLength(DEFAULTS);
    expect(events.filter((event) => event.type === 'component.unregistered')).toEqual([]);

    // The state a serial apply gives: every component, every default at version 1 with the manifest's value.
    const { components } = await admin.request(ComponentsDocument, {});
    expect(
      components
        .filter((entry) => entry.id.startsWith('races.'))
        .map((entry) => entry.id)
        .sort(),
    ).toEqual(Array.from({ length: COMPONENTS }, (_, index) => `races.step-${index}`).sort());
    for (let index = 0; index < DEFAULTS; index++) {
      const { config } = await admin.request(ConfigDocument, { key: `races.default-${index}` });
      expect(config).toMatchObject({ value: index, version: 1 });
    }

    // And a plan from either server finds nothing left to do.
    for (const node of servers.nodes) {
      const plan = await runCli(['plan', file, '--json'], { env: { SWITCHBOARD_URL: node.url, SWITCHBOARD_TOKEN: ADMIN_TOKEN } });
      expect(plan.code, plan.stderr).toBe(0);
      const body = plan.json<{ components: unknown[]; config: { action: string }[] }>();
      expect(body.components).toEqual([]);
      expect(body.config.filter((entry) => entry.action === 'set')).toEqual([]);
    }
  }, 180_000);
});
