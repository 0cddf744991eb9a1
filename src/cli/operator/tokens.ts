import { InvalidArgumentError, Option, type Command } from 'commander';
import { CreateTokenDocument, RevokeTokenDocument, TokensDocument, type TokenScope } from '@switchboard/client';
import { action, optionsOf, withConnection } from '../context.js';
import { color, print, status } from '../output.js';
import { emit, examples, printTable, time, withClient } from './session.js';

const SCOPES: TokenScope[] = ['READ', 'WRITE', 'ADMIN'];

interface CreateOptions {
  name: string;
  scope?: TokenScope[];
  servicePrefix?: string;
  keyPrefix?: string;
  expiresIn?: string;
}

/** switchboard token create|list|revoke (an ADMIN token's work). */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens: scoped, optionally limited to a service and key prefix, expiring, revocable (needs ADMIN).');

  const create = token
    .command('create')
    .description('Create a token. The secret is printed once, on stdout (the rest on stderr), so $(switchboard token create …) captures it.')
    .requiredOption('--name <name>', 'what the token is for ("ci-deployer")')
    .addOption(new Option('--scope <scope>', 'READ, WRITE or ADMIN (repeat for several; default READ)').choices(SCOPES).argParser(collectScope))
    .option('--service-prefix <prefix>', 'limit service writes to names starting with this')
    .option('--key-prefix <prefix>', 'limit configuration writes (and secret reads) to keys starting with this')
    .option('--expires-in <duration>', 'the token stops working after this long ("720h"); default: never')
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = optionsOf<CreateOptions>(command);
        const input = {
          name: options.name,
          scopes: options.scope ?? ['READ'],
          servicePrefix: options.servicePrefix ?? null,
          keyPrefix: options.keyPrefix ?? null,
          expiresIn: options.expiresIn ?? null,
        };
        const { createToken: created } = await withClient(options, (client) => client.request(CreateTokenDocument, { input }));
        emit(options, created, () => {
          const limits = [
            created.details.servicePrefix && `services ${created.details.servicePrefix}*`,
            created.details.keyPrefix && `keys ${created.details.keyPrefix}*`,
          ];
          const scope = [created.details.scopes.join('+'), ...limits.filter(Boolean)].join(', ');
          process.stderr.write(`created token ${created.id} "${created.details.name}" (${scope}); its secret is shown only now:\n`);
          print(created.token);
        });
      }),
    );
  examples(withConnection(create), [
    'switchboard token create --name ci --scope WRITE --service-prefix payments- --key-prefix payments.',
    'export SWITCHBOARD_TOKEN=$(switchboard token create --name laptop --scope READ --expires-in 8h)',
  ]);

  const list = token
    .command('list')
    .description('List every token (revoked and expired ones too), without secrets.')
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = optionsOf(command);
        const { tokens } = await withClient(options, (client) => client.request(TokensDocument));
        emit(options, tokens, (rows) =>
          printTable(
            ['ID', 'NAME', 'SCOPES', 'SERVICE PREFIX', 'KEY PREFIX', 'CREATED', 'EXPIRES', 'STATE'],
            rows.map((row) => [
              row.id,
              row.name,
              row.scopes.join(', '),
              row.servicePrefix ?? '',
              row.keyPrefix ?? '',
              time(row.createdAt),
              time(row.expiresAt),
              state(row.revokedAt, row.expiresAt),
            ]),
            'no tokens',
          ),
        );
      }),
    );
  examples(withConnection(list), ['switchboard token list']);

  const revoke = token
    .command('revoke')
    .description('Revoke a token on every server at once; its open subscriptions end.')
    .argument('<id>', 'the token id (from token list)')
    .action(
      action(async (id: string, _options: unknown, command: Command) => {
        const options = optionsOf(command);
        await withClient(options, (client) => client.request(RevokeTokenDocument, { id }));
        emit(options, { id, revoked: true }, () => print(`revoked ${id}`));
      }),
    );
  examples(withConnection(revoke), ['switchboard token revoke 3f2a…']);
}

/** Commander's own choice check gives way to a custom parser: this one checks and collects. */
function collectScope(value: string, previous: TokenScope[] | undefined): TokenScope[] {
  if (!SCOPES.includes(value as TokenScope)) throw new InvalidArgumentError(`Allowed choices are ${SCOPES.join(', ')}.`);
  return [...(previous ?? []), value as TokenScope];
}

function state(revokedAt: string | null | undefined, expiresAt: string | null | undefined): string {
  if (revokedAt) return color.red('revoked');
  if (expiresAt && Date.parse(expiresAt) <= Date.now()) return color.red('expired');
  return status('active');
}
