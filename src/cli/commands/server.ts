import type { Command } from 'commander';

/** The commands that run a node or prepare its database; settings come from the environment (docs/settings.md). */
export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('Run a registry node: GraphQL over HTTP, SSE and WebSocket on PORT (default 4000).')
    .action(async () => (await import('../run.js')).serveCommand());
  program
    .command('worker')
    .description('Run only the health-check pool (and the sweeps) against DATABASE_URL, to scale checks out apart from the API.')
    .action(async () => (await import('../run.js')).workerCommand());
  program
    .command('migrate')
    .description('Apply database migrations and exit (serve also applies them at start-up).')
    .action(async () => (await import('../migrate.js')).migrateCommand());
  program
    .command('print-schema')
    .description('Print the GraphQL schema (SDL).')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (options: { out?: string }) => (await import('../print-schema.js')).printSchemaCommand(options));
}
