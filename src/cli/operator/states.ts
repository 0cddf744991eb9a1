import type { Command } from 'commander';
import { ServiceStatesDocument } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { print, status } from '../output.js';
import { emit, examples, printTable, withClient } from './session.js';

/** switchboard states: every service judged Active, Scaling, Healing or Down, with the reason. */
export function registerStatesCommand(program: Command): void {
  const states = program
    .command('states')
    .description("Show every service's state (ACTIVE, SCALING, HEALING, DOWN) with the reason, and the count in each.")
    .option('--prefix <prefix>', 'only services whose name starts with this')
    .option('--window <duration>', 'how far back changes count ("5m"; default: the server\'s SWITCHBOARD_STATE_WINDOW)')
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = optionsOf<{ prefix?: string; window?: string }>(command);
        const { serviceStates: report } = await withClient(options, (client) =>
          client.request(ServiceStatesDocument, { prefix: options.prefix ?? null, window: options.window ?? null }),
        );
        emit(options, report, () => {
          const { counts } = report;
          print(`${counts.active} active, ${counts.scaling} scaling, ${counts.healing} healing, ${counts.down} down  (window ${report.window})`);
          print();
          printTable(
            ['SERVICE', 'STATE', 'INSTANCES', 'PASSING', 'WARNING', 'CRITICAL', 'POLICY', 'WHY'],
            report.services.map((service) => [
              service.name,
              status(service.state),
              service.instances,
              service.passing,
              service.warning,
              service.critical,
              policy(service.minInstances, service.maxInstances),
              service.reasons[0] ?? '',
            ]),
            'no services',
          );
        });
      }),
    );
  examples(withConnection(states), ['switchboard states', 'switchboard states --prefix payments --json']);
}

function policy(min: number | null | undefined, max: number | null | undefined): string {
  if ((min ?? null) === null && (max ?? null) === null) return '';
  return `${min ?? 0}..${max ?? '∞'}`;
}
