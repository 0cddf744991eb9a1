import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { registerServerCommands } from './commands/server.js';
import { registerOperatorCommands } from './commands/operator.js';
import { registerBuildCommands } from './commands/build.js';
import { registerPlanCommands } from './commands/plan.js';
import { registerComposeCommand } from './commands/compose.js';
import { registerCompletionCommand } from './commands/completion.js';

/** The package's version: src/cli and dist/cli both sit two directories below package.json. */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The whole `switchboard` command tree. Commands load what they run only when they run (a `services` call
 * does not load the server), so the operator commands start quickly.
 */
export function buildProgram(): Command {
  const program = new Command()
    .name('switchboard')
    .description('A service registry with a GraphQL API: run a node, operate a registry, and scan, check and apply a manifest.')
    .version(VERSION, '-V, --version', 'print the version')
    .showSuggestionAfterError()
    .showHelpAfterError('(run with --help for usage)')
    // Program options only before the command: `discover api --version ^2` is discover's semver range, not -V.
    .enablePositionalOptions()
    // Inherited by every command added after it: a usage mistake exits 2 everywhere, help and --version 0.
    .exitOverride((error: CommanderError) => {
      process.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    });
  registerServerCommands(program);
  registerOperatorCommands(program);
  registerBuildCommands(program);
  registerPlanCommands(program);
  registerComposeCommand(program);
  registerCompletionCommand(program);
  return program;
}
