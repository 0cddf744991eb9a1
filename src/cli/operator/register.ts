import { readFileSync } from 'node:fs';
import { Argument, type Command } from 'commander';
import { RegisterServiceDocument, SetMaintenanceDocument, UnregisterServiceDocument, type ServiceDefinitionInput } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { print, status } from '../output.js';
import { collect, emit, examples, integer, keyValue, withClient } from './session.js';
import { hostPort } from './services.js';
import { readJsonFile, type JsonFileLimits } from '../../build/read-json.js';

/**
 * One instance's definition is a few hundred bytes; the server refuses a request over 1 MB (by default) by
 * closing the connection. Metadata is a flat string map: 64 levels is far past anything the server accepts.
 */
const DEFINITION_FILE_LIMITS: JsonFileLimits = { what: 'a definition', maxBytes: 1024 * 1024, maxDepth: 64 };

interface RegisterFlags {
  name?: string;
  id?: string;
  address?: string;
  port?: number;
  version?: string;
  tag?: string[];
  meta?: Record<string, string>;
  weight?: number;
  priority?: number;
  ttl?: string;
  http?: string;
  tcp?: string;
  checkTtl?: string;
  interval?: string;
}

/** The flags that describe an instance; `register` takes them or a file, not both. */
const DEFINITION_FLAGS = [
  'name',
  'id',
  'address',
  'port',
  'version',
  'tag',
  'meta',
  'weight',
  'priority',
  'ttl',
  'http',
  'tcp',
  'checkTtl',
  'interval',
] as const;

/** switchboard register, deregister, maintenance. */
export function registerRegistrationCommands(program: Command): void {
  const register = program
    .command('register')
    .description('Register (or update) a service instance, from a JSON file (a ServiceDefinitionInput) or from flags.')
    .argument('[file]', 'a JSON file with the instance\'s definition ("-" reads stdin)')
    .option('--name <name>', 'the service name (required without a file)')
    .option('--id <id>', 'the instance id (default: the name); registering it again updates it')
    .option('--address <host>', "host name or IP address (default: this machine's address as the server sees it)")
    .option('--port <port>', 'port', integer)
    .option('--version <semver>', 'the instance\'s version, e.g. "1.4.2"')
    .option('--tag <tag>', 'a tag (repeat for several)', collect)
    .option('--meta <key=value>', 'a metadata pair (repeat for several)', keyValue)
    .option('--weight <n>', 'weight for WEIGHTED selection (default 1)', integer)
    .option('--priority <n>', 'priority tier, lower preferred (default 0)', integer)
    .option('--ttl <duration>', 'a lease: the instance expires unless a heartbeat renews it within this ("30s")')
    .option('--http <url>', 'an HTTP health check: 2xx passing, 429 warning, else critical')
    .option('--tcp <host:port>', 'a TCP health check: a completed connect is passing')
    .option('--check-ttl <duration>', 'a TTL health check, critical unless updated within this')
    .option('--interval <duration>', 'how often the HTTP or TCP check runs (default 10s)')
    .action(
      action(async (file: string | undefined, _options: unknown, command: Command) => {
        const options = optionsOf<RegisterFlags>(command);
        // Everything is checked before the request: a file that is not a definition registers nothing.
        const input = file === undefined ? definitionFromFlags(options) : definitionFromFile(file, options);
        const { registerService: instance } = await withClient(options, (client) => client.request(RegisterServiceDocument, { input }));
        emit(options, instance, () =>
          print(
            `registered ${instance.id} (${instance.name}${instance.version ? ` ${instance.version}` : ''} at ${hostPort(instance)}), ${status(instance.health.status)}`,
          ),
        );
      }),
    );
  examples(withConnection(register), [
    'switchboard register --name payments --id payments-1 --address 10.0.0.5 --port 8080 --version 2.1.0 --tag eu --http http://10.0.0.5:8080/health',
    'switchboard register payments-1.json',
    'echo \'{"name":"payments","port":8080}\' | switchboard register - --json',
  ]);

  const deregister = program
    .command('deregister')
    .description('Remove a service instance (and its checks) from the catalog.')
    .argument('<id>', 'the instance id')
    .action(
      action(async (id: string, _options: unknown, command: Command) => {
        const options = optionsOf(command);
        await withClient(options, (client) => client.request(UnregisterServiceDocument, { id }));
        emit(options, { id, deregistered: true }, () => print(`deregistered ${id}`));
      }),
    );
  examples(withConnection(deregister), ['switchboard deregister payments-1']);

  const maintenance = program
    .command('maintenance')
    .description('Take an instance out of passing discovery and selection (on), or put it back (off), without deregistering it.')
    .argument('<id>', 'the instance id')
    .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off']))
    .option('--reason <text>', 'why, shown with its health')
    .action(
      action(async (id: string, state: 'on' | 'off', _options: unknown, command: Command) => {
        const options = optionsOf<{ reason?: string }>(command);
        const { setMaintenance } = await withClient(options, (client) =>
          client.request(SetMaintenanceDocument, { id, enabled: state === 'on', reason: options.reason ?? null }),
        );
        emit(options, setMaintenance, (instance) =>
          print(
            instance.maintenance
              ? `${id} is in maintenance${instance.maintenance.reason ? ` (${instance.maintenance.reason})` : ''}, ${status(instance.health.status)}`
              : `${id} is out of maintenance, ${status(instance.health.status)}`,
          ),
        );
      }),
    );
  examples(withConnection(maintenance), ['switchboard maintenance payments-1 on --reason "kernel upgrade"', 'switchboard maintenance payments-1 off']);
}

function definitionFromFlags(flags: RegisterFlags): ServiceDefinitionInput {
  if (!flags.name) throw new UsageError('register needs a file or --name (see switchboard register --help)');
  const checks = [
    flags.http === undefined ? undefined : { http: flags.http, interval: flags.interval ?? null },
    flags.tcp === undefined ? undefined : { tcp: flags.tcp, interval: flags.interval ?? null },
    flags.checkTtl === undefined ? undefined : { ttl: flags.checkTtl },
  ].filter((check) => check !== undefined);
  if (flags.interval !== undefined && flags.http === undefined && flags.tcp === undefined)
    throw new UsageError('--interval applies to an --http or --tcp check');
  return {
    name: flags.name,
    id: flags.id ?? null,
    address: flags.address ?? null,
    port: flags.port ?? null,
    version: flags.version ?? null,
    tags: flags.tag ?? null,
    metadata: flags.meta ?? null,
    weight: flags.weight ?? null,
    priority: flags.priority ?? null,
    ttl: flags.ttl ?? null,
    healthChecks: checks.length > 0 ? checks : null,
  };
}

function definitionFromFile(file: string, flags: RegisterFlags): ServiceDefinitionInput {
  const given = DEFINITION_FLAGS.filter((flag) => flags[flag] !== undefined);
  if (given.length > 0) throw new UsageError(`give the definition in ${file} or as flags, not both (also given: --${given.map(kebab).join(', --')})`);
  const read = readJsonFile(file, DEFINITION_FILE_LIMITS, () => readFileSync(file === '-' ? 0 : file));
  if ('problem' in read) throw new UsageError(read.problem);
  const definition = read.value;
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw new UsageError(`${file} must hold one JSON object (a ServiceDefinitionInput: {"name": "payments", "port": 8080, ...})`);
  }
  // The server checks every field (and names the one at fault); the name is the one the CLI cannot do without.
  if (typeof (definition as { name?: unknown }).name !== 'string') throw new UsageError(`${file} has no "name" (a string)`);
  return definition as ServiceDefinitionInput;
}

const kebab = (flag: string) => flag.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
