import type { Command } from 'commander';
import { DiscoverServicesDocument, ServicesDocument, type InstanceFieldsFragment } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { status } from '../output.js';
import { collect, emit, examples, printTable, withClient } from './session.js';

/** switchboard services [prefix], switchboard discover <name>. */
export function registerServiceCommands(program: Command): void {
  const services = program
    .command('services')
    .description('List the services in the catalog with their instance counts, versions and tags.')
    .argument('[prefix]', 'only services whose name starts with this')
    .action(
      action(async (prefix: string | undefined, _options: unknown, command: Command) => {
        const options = optionsOf(command);
        const { services } = await withClient(options, (client) => client.request(ServicesDocument, { prefix: prefix ?? null }));
        emit(options, services, (rows) =>
          printTable(
            ['SERVICE', 'INSTANCES', 'PASSING', 'VERSIONS', 'TAGS'],
            rows.map((row) => [row.name, row.instances, row.passing, row.versions.join(', '), row.tags.join(', ')]),
            prefix ? `no service name starts with "${prefix}"` : 'no services registered',
          ),
        );
      }),
    );
  examples(withConnection(services), ['switchboard services', 'switchboard services payments- --json']);

  const discover = program
    .command('discover')
    .description("List a service's instances: address, version, health, tags.")
    .argument('<name>', 'the service name')
    .option('--tag <tag>', 'only instances with this tag (repeat for several: all must match)', collect)
    .option('--version <range>', 'only versions in this semver range ("^2.1", ">=1.4 <2")')
    .option('--passing', 'only instances whose checks pass (and not in maintenance)')
    .action(
      action(async (name: string, _options: unknown, command: Command) => {
        const options = optionsOf<{ tag?: string[]; version?: string; passing?: boolean }>(command);
        const { discoverServices } = await withClient(options, (client) =>
          client.request(DiscoverServicesDocument, {
            name,
            passingOnly: options.passing ?? false,
            tags: options.tag ?? null,
            version: options.version ?? null,
          }),
        );
        emit(options, discoverServices, (instances) =>
          printTable(['ID', 'ADDRESS', 'VERSION', 'HEALTH', 'WEIGHT', 'TAGS'], instances.map(instanceRow), `no instance of "${name}" matches`),
        );
      }),
    );
  examples(withConnection(discover), ['switchboard discover payments --passing', 'switchboard discover payments --tag eu --version "^2" --json']);
}

/** One instance as a table row (discover, select). */
export function instanceRow(instance: InstanceFieldsFragment): unknown[] {
  return [instance.id, hostPort(instance), instance.version ?? '', status(instance.health.status), instance.weight, instance.tags.join(', ')];
}

export function hostPort(instance: { address: string; port?: number | null }): string {
  return instance.port === null || instance.port === undefined ? instance.address : `${instance.address}:${instance.port}`;
}
