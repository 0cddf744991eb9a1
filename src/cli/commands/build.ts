import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ComponentsDocument, DiscoverServicesDocument } from '@switchboard/client';
import { action, clientFor, optionsOf, withConnection } from '../context.js';
import { CommandFailure, ExitCode, UsageError } from '../exit-codes.js';
import { color, print, printJson, progress, table } from '../output.js';
import { MANIFEST_FILE, manifestJsonSchema, readManifest, type Manifest } from '../../build/manifest.js';
import type { CheckReport, LiveCatalogue } from '../../build/check.js';

/** Build-time commands: scan, check, generate (docs/manifest.md). */
export function registerBuildCommands(program: Command): void {
  program
    .command('scan')
    .description(
      'Read @service and @component declarations from TypeScript sources (without running them) and write switchboard.manifest.json. ' +
        'Exits 1, writing nothing, with file:line:column for what it cannot read statically.',
    )
    .argument('[paths...]', 'files and directories to scan', ['.'])
    .option('-o, --out <file>', `where to write the manifest (default: ${MANIFEST_FILE} in the first path's directory)`)
    .option('-p, --project <tsconfig>', 'the tsconfig.json whose options (paths aliases) resolve imports (default: the nearest above the first path)')
    .option('--print-schema', "print the manifest's JSON Schema (to --out when given) instead of scanning")
    .action(action(scanCommand));

  withConnection(
    program
      .command('check')
      .description(
        'Check a manifest: missing dependencies, dependency cycles, version ranges nothing satisfies, a service depending on itself. ' +
          'With --live, what the registry has satisfies dependencies too. Exits 1 when there are problems.',
      )
      .argument('[manifest]', 'the manifest', MANIFEST_FILE)
      .option('--live', 'let the live registry (--server) satisfy dependencies the manifest does not, and say which'),
  ).action(action(checkCommand));

  program
    .command('generate')
    .description(
      "Write a TypeScript module of the manifest's services and components as constants: imported, start() registers from it without reading decorators.",
    )
    .argument('[manifest]', 'the manifest', MANIFEST_FILE)
    .option('-o, --out <file>', "where to write it (default: src/switchboard.generated.ts beside the manifest, or the manifest's directory without a src/)")
    .action(action(generateCommand));
}

async function scanCommand(paths: string[], options: { out?: string; project?: string; printSchema?: boolean }): Promise<void> {
  if (options.printSchema) {
    const text = `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
    if (options.out) writeFileSync(options.out, text);
    else process.stdout.write(text);
    return;
  }
  const first = paths[0] ?? '.';
  const out = options.out ?? path.join(statSync(first, { throwIfNoEntry: false })?.isFile() ? path.dirname(first) : first, MANIFEST_FILE);
  for (const entry of paths) if (!existsSync(entry)) throw new UsageError(`${entry}: no such file or directory`);
  if (options.project && !existsSync(options.project)) throw new UsageError(`--project ${options.project}: no such file`);

  const { scan } = await import('../../build/scan/index.js');
  const bar = progress('Scanning');
  const result = (() => {
    try {
      return scan({ paths, out, ...(options.project ? { project: options.project } : {}), onProgress: (done, total) => bar.update(done, total) });
    } finally {
      bar.done();
    }
  })();
  for (const error of result.errors) {
    process.stderr.write(`${path.relative(process.cwd(), error.file)}:${error.line}:${error.column}: ${color.red('error')}: ${error.message}\n`);
  }
  if (result.errors.length > 0) {
    throw new CommandFailure(`scan found ${plural(result.errors.length, 'problem')} in ${plural(result.files, 'file')}; ${out} was not written.`);
  }
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result.manifest, null, 2)}\n`);
  const { services, components } = result.manifest;
  print(`Scanned ${plural(result.files, 'file')}: ${plural(services.length, 'service')}, ${plural(components.length, 'component')} -> ${out}`);
}

async function checkCommand(file: string, _options: unknown, command: Command): Promise<void> {
  const options = optionsOf<{ live?: boolean }>(command);
  const manifest = loadManifest(file);
  const { checkManifest } = await import('../../build/check.js');
  const live = options.live ? await liveCatalogue(options, manifest) : undefined;
  const report = checkManifest(manifest, live);
  if (options.json) printJson({ manifest: file, live: Boolean(options.live), ok: report.problems.length === 0, ...report });
  else print(renderCheck(file, report, Boolean(options.live)));
  if (report.problems.length > 0) process.exitCode = ExitCode.FAILED;
}

async function generateCommand(file: string, options: { out?: string }): Promise<void> {
  const manifest = loadManifest(file);
  const { generateModule, GenerateError, GENERATED_FILE } = await import('../../build/generate.js');
  const dir = path.dirname(file);
  const out = options.out ?? (existsSync(path.join(dir, 'src')) ? path.join(dir, 'src', GENERATED_FILE) : path.join(dir, GENERATED_FILE));
  let text: string;
  try {
    text = generateModule(manifest, { manifestPath: file, out });
  } catch (error) {
    if (error instanceof GenerateError) throw new CommandFailure(`generate: ${error.message}`);
    throw error;
  }
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, text);
  print(
    `Generated ${out}: ${plural(manifest.services.length, 'service')}, ${plural(manifest.components.length, 'component')} (import it before calling start())`,
  );
}

/** The manifest, or a usage failure listing every problem at its JSON path (exit 2; nothing else is done). */
function loadManifest(file: string): Manifest {
  const read = readManifest(file);
  if ('manifest' in read) return read.manifest;
  const lines = read.problems.map((problem) => `  ${problem.path}: ${problem.message}`);
  throw new CommandFailure(`${file} is not a valid manifest (${plural(read.problems.length, 'problem')}):\n${lines.join('\n')}`, ExitCode.USAGE);
}

/** What the registry has that the manifest's dependencies could be satisfied by: every component, and the instances of each service named. */
async function liveCatalogue(options: Parameters<typeof clientFor>[0], manifest: Manifest): Promise<LiveCatalogue> {
  const client = clientFor(options);
  try {
    const names = [
      ...new Set([
        ...manifest.services.flatMap((service) => service.dependencies.map((dependency) => dependency.service)),
        ...manifest.components.flatMap((component) => (component.provider ? [component.provider] : [])),
      ]),
    ];
    const [{ components }, services] = await Promise.all([
      client.request(ComponentsDocument, {}),
      Promise.all(names.map(async (name) => [name, (await client.request(DiscoverServicesDocument, { name })).discoverServices] as const)),
    ]);
    return {
      components,
      services: new Map(
        services.filter(([, instances]) => instances.length > 0).map(([name, instances]) => [name, instances.map((each) => each.version ?? null)]),
      ),
    };
  } finally {
    await client.close();
  }
}

const KIND_LABELS: Record<string, string> = {
  'missing-service': 'missing service',
  'missing-component': 'missing component',
  'missing-provider': 'missing provider',
  'unsatisfiable-range': 'unsatisfiable',
  'self-dependency': 'self-dependency',
  cycle: 'cycle',
};

function renderCheck(file: string, report: CheckReport, live: boolean): string {
  const lines: string[] = [];
  if (report.problems.length === 0) lines.push(`${color.green('ok')}: ${file} has no dependency problems${live ? ' (with the live registry)' : ''}.`);
  else {
    lines.push(`${color.red(plural(report.problems.length, 'problem'))} in ${file}:`);
    lines.push(
      table(
        ['PROBLEM', 'WHERE', 'DETAIL'],
        report.problems.map((problem) => [color.red(KIND_LABELS[problem.kind] ?? problem.kind), problem.path, problem.message]),
      ),
    );
  }
  if (report.satisfiedLive.length > 0) {
    lines.push('', `Satisfied only by the live registry (${plural(report.satisfiedLive.length, 'dependency', 'dependencies')}):`);
    lines.push(
      table(
        ['FROM', 'NEEDS', 'LIVE', 'WHERE'],
        report.satisfiedLive.map((each) => [each.from, each.dependency, each.by, each.path]),
      ),
    );
  }
  return lines.join('\n');
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
