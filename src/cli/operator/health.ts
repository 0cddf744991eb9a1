import type { Command } from 'commander';
import { HealthHistoryDocument, InstanceHealthDocument, type HealthCheckFieldsFragment } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { color, print, status, table } from '../output.js';
import { emit, examples, integer, notFound, time, withClient } from './session.js';

/** switchboard health <id>: an instance's checks and its recent transitions. */
export function registerHealthCommand(program: Command): void {
  const health = program
    .command('health')
    .description("Show an instance's health: its status, each check, and its recent transitions (newest first).")
    .argument('<id>', 'the instance id')
    .option('--last <n>', 'how many transitions to show (1 to 1000)', integer, 20)
    .action(
      action(async (id: string, _options: unknown, command: Command) => {
        const options = optionsOf<{ last: number }>(command);
        const [{ service }, { healthHistory }] = await withClient(options, (client) =>
          Promise.all([client.request(InstanceHealthDocument, { id }), client.request(HealthHistoryDocument, { id, last: options.last })]),
        );
        if (!service) throw notFound(`no instance has the id "${id}"`);
        const report = { id: service.id, health: service.health, checks: service.checks, history: healthHistory };
        emit(options, report, () => {
          print(`${report.id}  ${status(report.health.status)}${report.health.output ? `  ${report.health.output}` : ''}`);
          print();
          print(
            report.checks.length === 0
              ? 'no checks'
              : table(
                  ['CHECK', 'KIND', 'STATUS', 'TARGET', 'INTERVAL', 'LAST RUN', 'OUTPUT'],
                  report.checks.map((check) => [
                    check.name,
                    check.kind,
                    status(check.status),
                    target(check),
                    check.interval ?? check.ttl ?? '',
                    time(check.lastCheck),
                    oneLine(check.output),
                  ]),
                ),
          );
          print();
          print(color.bold('History'));
          print(
            report.history.length === 0
              ? 'no transitions yet'
              : table(
                  ['AT', 'CHECK', 'FROM', 'TO', 'INSTANCE', 'OUTPUT'],
                  report.history.map((entry) => [
                    time(entry.at),
                    entry.checkName ?? '',
                    entry.from ?? '',
                    entry.to ?? '',
                    status(entry.instanceStatus),
                    oneLine(entry.output),
                  ]),
                ),
          );
        });
      }),
    );
  examples(withConnection(health), ['switchboard health payments-1', 'switchboard health payments-1 --last 100 --json']);
}

function target(check: HealthCheckFieldsFragment): string {
  return check.http ?? check.tcp ?? check.grpc ?? (check.script ? [check.script, ...(check.args ?? [])].join(' ') : check.ttl ? `ttl ${check.ttl}` : '');
}

/** Check output can be a page of HTML: a table cell gets its first line, cut short. */
function oneLine(text: string | null | undefined): string {
  const first = (text ?? '').split('\n')[0]!;
  return first.length > 60 ? `${first.slice(0, 59)}…` : first;
}
