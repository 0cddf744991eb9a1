import { InvalidArgumentError, Option, type Command } from 'commander';
import { ComposeFlowDocument, type ComponentType, type ComposeFlowQuery } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { CommandFailure, ExitCode } from '../exit-codes.js';
import { color, print } from '../output.js';
import { collect, emit, examples, printTable, withClient } from '../operator/session.js';

type Composition = ComposeFlowQuery['composeFlow'];

const COMPOSED_TYPES: ComponentType[] = ['STEP', 'TRANSFORMER', 'VALIDATOR', 'MIDDLEWARE', 'PLUGIN'];

interface ComposeOptions {
  require?: string[];
  type?: ComponentType[];
  flowVersion?: string;
  strict?: boolean;
}

/** switchboard compose <flow>: the registry's composeFlow, for people and scripts. */
export function registerComposeCommand(program: Command): void {
  const compose = program
    .command('compose')
    .description(
      'Show which registered steps, transformers, validators and middleware fit a flow now: one version each, dependencies first, and every candidate left out with why.',
    )
    .argument('<flow>', "a FLOW component's name or id, or the name components declare in their flows")
    .option('--require <component>', 'a component that must be in, "name" or "name@range" (repeatable)', collect)
    .addOption(
      new Option('--type <type>', 'the kinds that join by declared compatibility (repeatable; default all but PLUGIN)')
        .choices(COMPOSED_TYPES)
        .argParser(collectType),
    )
    .option('--flow-version <version>', 'the flow version or range (picks the FLOW component; without one, what "flow@range" declarations must meet)')
    .option('--strict', 'exit 1 when the flow is not complete (a declared step or requirement cannot be had)')
    .action(
      action(async (flow: string, _options: unknown, command: Command) => {
        const options = optionsOf<ComposeOptions>(command);
        const requirements = { require: options.require ?? null, types: options.type ?? null, flowVersion: options.flowVersion ?? null };
        const { composeFlow } = await withClient(options, (client) => client.request(ComposeFlowDocument, { flow, requirements }));
        emit(options, composeFlow, printComposition);
        if (options.strict && !composeFlow.complete) {
          throw new CommandFailure(`flow "${flow}" is not complete: ${composeFlow.problems.map((problem) => problem.message).join(' ')}`, ExitCode.FAILED);
        }
      }),
    );
  examples(withConnection(compose), [
    'switchboard compose checkout',
    'switchboard compose checkout --require fraud-check@^2 --flow-version 2.1.0',
    'switchboard compose checkout --json | jq ".components[].component.id"',
  ]);
}

/** Repeatable --type: commander's choices() check is replaced by an argParser, so the check is here. */
function collectType(value: string, previous: ComponentType[] | undefined): ComponentType[] {
  const type = value.toUpperCase() as ComponentType;
  if (!COMPOSED_TYPES.includes(type)) throw new InvalidArgumentError(`expected one of ${COMPOSED_TYPES.join(', ')}, got ${JSON.stringify(value)}`);
  return [...(previous ?? []), type];
}

function printComposition(composition: Composition): void {
  const { flow } = composition;
  const from = flow.component ? `FLOW ${flow.component.id}` : 'no FLOW component registered';
  const version = flow.version ? ` ${flow.version}` : '';
  print(`${color.bold(flow.name)}${version} ${color.dim(`(${from})`)}: ${composition.complete ? color.green('complete') : color.red('incomplete')}`);
  if (flow.steps.length > 0) print(`declared steps: ${flow.steps.join(' -> ')}`);
  print();
  printTable(
    ['#', 'TYPE', 'NAME', 'VERSION', 'ROLE', 'PROVIDER', 'DEPENDS ON'],
    composition.components.map((entry, index) => [
      index + 1,
      entry.component.type,
      entry.component.name,
      entry.component.version,
      entry.role,
      entry.component.provider,
      entry.dependsOn.join(', '),
    ]),
    'no components fit this flow',
  );
  if (composition.excluded.length > 0) {
    print();
    print(color.bold('Left out:'));
    printTable(
      ['TYPE', 'NAME', 'VERSION', 'REASON', 'WHY'],
      composition.excluded.map((entry) => [entry.component.type, entry.component.name, entry.component.version, color.yellow(entry.reason), entry.message]),
      '',
    );
  }
  if (composition.problems.length > 0) {
    print();
    print(color.bold('Problems:'));
    for (const problem of composition.problems) print(`  ${color.red(problem.code)} ${problem.subject}: ${problem.message}`);
  }
}
