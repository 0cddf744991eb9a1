import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { SwitchboardRequestError } from '@switchboard/client';
import { action, clientFor, graphqlUrl, optionsOf, withConnection } from '../context.js';
import { CommandFailure, ExitCode, UsageError, exitCodeFor } from '../exit-codes.js';
import { color, print, printJson, progress } from '../output.js';
import type { ManifestProblem } from '../../build/manifest.js';

interface PlanOptions {
  prune?: boolean;
  detailedExitcode?: boolean;
  yes?: boolean;
}

/** A manifest against the live registry: plan, apply. */
export function registerPlanCommands(program: Command): void {
  withConnection(
    program
      .command('plan')
      .description('Show what applying a manifest would change in the live registry: + added, ~ changed (old -> new), - removed (with --prune).')
      .argument('[manifest]', 'the manifest', 'switchboard.manifest.json')
      .option('--prune', "also remove this project's components that the manifest no longer declares")
      .addOption(new Option('--detailed-exitcode', 'exit 0 when there is nothing to change, 2 when there is (as terraform plan does)')),
  ).action(
    manifestAction(async (file: string, _options: PlanOptions, command: Command) => {
      const options = optionsOf<PlanOptions>(command);
      const { plan, hasChanges } = await preparePlan(file, options);
      const { renderPlan } = await import('./plan-output.js');
      if (options.json) printJson(plan);
      else print(renderPlan(plan, { manifest: file, server: graphqlUrl(options.server) }));
      if (options.detailedExitcode && hasChanges) process.exitCode = 2;
    }),
  );

  withConnection(
    program
      .command('apply')
      .description(
        "Make the registry match a manifest: register components (dependencies first), set missing config defaults, and with --prune remove this project's components it no longer declares. Prints the events caused.",
      )
      .argument('[manifest]', 'the manifest', 'switchboard.manifest.json')
      .option('--prune', "also remove this project's components that the manifest no longer declares")
      .option('-y, --yes', 'apply without asking (needed when stdin is not a terminal)'),
  ).action(
    manifestAction(async (file: string, _options: PlanOptions, command: Command) => {
      const options = optionsOf<PlanOptions>(command);
      const { plan, hasChanges, client } = await preparePlan(file, options);
      const { stepsOf, applySteps } = await import('../../build/apply.js');
      const { renderApplyReport, renderPlan } = await import('./plan-output.js');
      if (!options.json) print(renderPlan(plan, { manifest: file, server: graphqlUrl(options.server) }));
      if (!hasChanges) {
        if (options.json) printJson({ plan, applied: [], notApplied: [], unknown: [], refusal: null, events: [] });
        return;
      }
      if (!options.yes) await confirm(Boolean(options.json));
      const bar = progress('Applying');
      const report = await applySteps(client, stepsOf(plan), { onProgress: (done, total) => bar.update(done, total) }).finally(() => bar.done());
      if (options.json) printJson({ plan, ...report });
      else print(`\n${renderApplyReport(report)}`);
      if (report.refusal) {
        // The report is the answer (on stdout, complete for --json): the exit code says why it stopped.
        process.stderr.write(`${color.red('error')}: apply stopped: ${report.refusal.message}\n`);
        process.exitCode = exitCodeFor(new SwitchboardRequestError([{ message: report.refusal.message, extensions: { code: report.refusal.code } }]));
      }
    }),
  );
}

/** Reads and checks the manifest, reads the registry, plans. A manifest with problems stops here: nothing is sent. */
async function preparePlan(file: string, options: PlanOptions & { json?: boolean; server: string; token?: string }) {
  const { planManifest, readManifestToApply, hasChanges } = await import('../../build/plan.js');
  const { readLiveState } = await import('../../build/live.js');
  const read = readManifestToApply(file);
  if ('problems' in read) throw new InvalidManifest(file, read.problems);
  const { manifest } = read;
  if (options.prune && manifest.project === undefined) {
    throw new UsageError(`--prune needs the manifest's "project": it removes only components that project applied (${file} names none).`);
  }
  const client = clientFor(options);
  const live = await readLiveState(client, manifest);
  const plan = planManifest(manifest, live, { prune: Boolean(options.prune) });
  return { plan, hasChanges: hasChanges(plan), client };
}

/** A manifest with problems: each at its JSON path, on stderr, and with --json as `error.problems`. Exit 2. */
class InvalidManifest extends CommandFailure {
  constructor(
    file: string,
    readonly problems: readonly ManifestProblem[],
  ) {
    const lines = problems.map((problem) => `  ${problem.path}: ${problem.message}`);
    super(
      `${file} is not a valid manifest (${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was sent):\n${lines.join('\n')}`,
      ExitCode.USAGE,
    );
  }
}

/**
 * `action`, with an invalid manifest's problems as a list for scripts: `{ error: { code, message, problems } }`.
 * Every other failure goes through `action` unchanged.
 */
function manifestAction<Args extends unknown[]>(run: (...args: Args) => Promise<void>): (...args: Args) => Promise<void> {
  return action(async (...args: Args) => {
    try {
      await run(...args);
    } catch (error) {
      const command = args.at(-1) as Command;
      if (!(error instanceof InvalidManifest) || !command.optsWithGlobals()['json']) throw error;
      printJson({ error: { code: 'USAGE', message: error.message, problems: error.problems } });
      process.stderr.write(`${color.red('error')}: ${error.message}\n`);
      process.exitCode = error.code;
    }
  });
}

/** Asks on a terminal; a script says --yes. */
async function confirm(json: boolean): Promise<void> {
  if (json || !process.stdin.isTTY) throw new UsageError('apply changes the registry: pass --yes to apply without a terminal to confirm on.');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question('\nApply these changes? Only "yes" applies: ');
    if (answer.trim() !== 'yes') throw new CommandFailure('Apply cancelled; nothing was changed.', ExitCode.FAILED);
  } finally {
    prompt.close();
  }
}
