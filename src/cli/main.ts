#!/usr/bin/env node
import './production.js';
import { Command } from 'commander';
import { printSchemaCommand } from './print-schema.js';
import { migrateCommand } from './migrate.js';
import { serveCommand, workerCommand } from './run.js';

const program = new Command().name('switchboard').description('A service registry with a GraphQL API. Settings come from the environment (docs/settings.md).');

program.command('serve').description('Run a registry node: GraphQL over HTTP, SSE and WebSocket on PORT (default 4000).').action(serveCommand);
program
  .command('worker')
  .description('Run only the health-check pool (and the sweeps) against DATABASE_URL, to scale checks out apart from the API.')
  .action(workerCommand);
program.command('migrate').description('Apply database migrations and exit (serve also applies them at start-up).').action(migrateCommand);
program
  .command('print-schema')
  .description('Print the GraphQL schema (SDL).')
  .option('--out <file>', 'write to a file instead of stdout')
  .action(printSchemaCommand);

await program.parseAsync();
