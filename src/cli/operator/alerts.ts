import { Option, type Command } from 'commander';
import { CliAlertsDocument, type AlertState } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { status } from '../output.js';
import { emit, examples, inline, printTable, time, withClient } from './session.js';

const STATES: AlertState[] = ['PENDING', 'FIRING', 'RESOLVED'];

/** switchboard alerts: what the alert rules found, firing first. */
export function registerAlertsCommand(program: Command): void {
  const alerts = program
    .command('alerts')
    .description('List alerts, firing first: the rule, its state, since when, whether silenced, and its labels.')
    .addOption(new Option('--state <state>', 'only alerts in this state').choices(STATES))
    .option('--rule <id>', 'only alerts of this rule')
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = optionsOf<{ state?: AlertState; rule?: string }>(command);
        const { alerts } = await withClient(options, (client) =>
          client.request(CliAlertsDocument, { state: options.state ?? null, ruleId: options.rule ?? null }),
        );
        emit(options, alerts, (rows) =>
          printTable(
            ['RULE', 'KIND', 'STATE', 'SINCE', 'SILENCED', 'LABELS'],
            rows.map((alert) => [
              alert.rule?.name ?? alert.ruleId,
              alert.rule?.kind ?? '',
              status(alert.state),
              time(alert.activeSince ?? alert.startsAt),
              alert.silenced ? 'yes' : '',
              inline(alert.labels),
            ]),
            options.state ? `no ${options.state.toLowerCase()} alerts` : 'no alerts',
          ),
        );
      }),
    );
  examples(withConnection(alerts), ['switchboard alerts', 'switchboard alerts --state FIRING --json']);
}
