import { Option, type Command } from 'commander';
import { CliSelectExplainedDocument, CliSelectInstanceDocument, type CliSelectExplainedQueryVariables, type LoadBalancingStrategy } from '@switchboard/client';
import { action, optionsOf, withConnection, type GlobalOptions } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { color, print, status, table } from '../output.js';
import { collect, emit, examples, notFound, withClient } from './session.js';
import { hostPort } from './services.js';

const STRATEGIES: LoadBalancingStrategy[] = ['ROUND_ROBIN', 'WEIGHTED', 'RANDOM', 'PRIORITY', 'CONSISTENT_HASH'];

interface SelectOptions {
  strategy?: LoadBalancingStrategy;
  key?: string;
  tag?: string[];
  version?: string;
  explain?: boolean;
}

/** switchboard select <service>: the instance a client would call now. */
export function registerSelectCommand(program: Command): void {
  const select = program
    .command('select')
    .description('Choose one available instance of a service, as a client balancing its calls would; --explain shows every candidate and why.')
    .argument('<service>', 'the service name')
    .addOption(new Option('--strategy <strategy>', 'how to choose (default ROUND_ROBIN)').choices(STRATEGIES))
    .option('--key <key>', 'the hash key for CONSISTENT_HASH (a user id, a session)')
    .option('--tag <tag>', 'only instances with this tag (repeat for several)', collect)
    .option('--version <range>', 'only versions in this semver range')
    .option('--explain', 'show every candidate and why it was or was not eligible (moves no rotation)')
    .action(
      action(async (service: string, _options: unknown, command: Command) => {
        const options = optionsOf<SelectOptions>(command);
        const variables = {
          service,
          strategy: options.strategy ?? null,
          hashKey: options.key ?? null,
          tags: options.tag ?? null,
          version: options.version ?? null,
        };
        if (options.explain) return explain(options, variables);
        const { selectInstance } = await withClient(options, (client) => client.request(CliSelectInstanceDocument, variables));
        if (!selectInstance) throw notFound(`no instance of "${service}" is available (try --explain)`);
        emit(options, selectInstance, (instance) => print(`${instance.id}  ${hostPort(instance)}  ${status(instance.health.status)}`));
      }),
    );
  examples(withConnection(select), [
    'switchboard select payments',
    'switchboard select payments --strategy CONSISTENT_HASH --key user-42',
    'switchboard select payments --explain',
  ]);
}

/** The explanation is the answer, printed whether or not something was chosen; nothing chosen still exits 3. */
async function explain(options: GlobalOptions, variables: CliSelectExplainedQueryVariables): Promise<void> {
  const { selectInstanceExplained: selection } = await withClient(options, (client) => client.request(CliSelectExplainedDocument, variables));
  emit(options, selection, () => {
    print(
      selection.selected
        ? `selected ${selection.selected.id} (${hostPort(selection.selected)}) by ${selection.strategy}${selection.tier === null || selection.tier === undefined ? '' : `, priority tier ${selection.tier}`}`
        : `nothing selected: ${selection.reason ?? 'no instance is available'}`,
    );
    if (selection.candidates.length === 0) return;
    print();
    print(
      table(
        ['INSTANCE', 'ADDRESS', 'HEALTH', 'ELIGIBLE', 'SHARE', 'WEIGHT', 'PRIORITY', 'CIRCUIT', 'EXCLUDED BECAUSE'],
        selection.candidates.map((candidate) => [
          candidate.instance.id === selection.selected?.id ? color.bold(candidate.instance.id) : candidate.instance.id,
          hostPort(candidate.instance),
          status(candidate.instance.health.status),
          candidate.eligible ? 'yes' : 'no',
          candidate.share === null || candidate.share === undefined ? '' : `${Math.round(candidate.share * 1000) / 10}%`,
          candidate.weight,
          candidate.priority,
          status(candidate.circuit),
          candidate.exclusions.join(', '),
        ]),
      ),
    );
  });
  if (!selection.selected) process.exitCode = ExitCode.NOT_FOUND;
}
