import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConfigDocument,
  CreateAlertRuleDocument,
  DiscoverServicesDocument,
  RegisterComponentDocument,
  RegisterServiceDocument,
  ServiceDocument,
  SetConfigDocument,
  TokensDocument,
} from '@switchboard/client';
import { runCli, startCli, type CliResult } from './support/cli.js';
import { useRegistryNode } from './support/nodes.js';

// Every operator command as an operator runs it: a separate `switchboard` process against a real server,
// its exit code, its human output, and its --json output parsed. Assertions are batched per process (each
// costs a Node start); the state each command changes is checked with the typed client, not with the CLI.

// Each test runs a dozen CLI processes one after another (a Node start each): on two busy cores that takes more than the default 30 s.
vi.setConfig({ testTimeout: 90_000 });

const ADMIN = 'cli-operator-admin-token-0123456789';
const ZSH_COMPLETE = fileURLToPath(new URL('./fixtures/zsh-complete.zsh', import.meta.url));
const zshMissing =
  spawnSync('zsh', ['-fc', 'zmodload zsh/zpty']).status === 0 ? undefined : 'zsh (with its zsh/zpty module) is not installed (apt-get install zsh)';
if (zshMissing) console.warn(`zsh completion test skipped: ${zshMissing}`);
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_ALERT_INTERVAL: '100ms' });
const admin = () => registry.clients.create(registry.node.url, ADMIN);
/** `switchboard ...args` against the test server as the admin (SWITCHBOARD_URL/SWITCHBOARD_TOKEN, as an operator sets them). */
const sb = (args: string[], options: { token?: string | undefined; input?: string } = { token: ADMIN }) =>
  runCli(args, { env: { SWITCHBOARD_URL: registry.node.url, SWITCHBOARD_TOKEN: 'token' in options ? options.token : ADMIN }, input: options.input });

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'switchboard-cli-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The process succeeded; its stderr is shown when it did not. */
function ok(result: CliResult): CliResult {
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** The process failed with `exit`, printed `code` as its --json error, and no stack trace. */
function failed(result: CliResult, exit: number, code: string): void {
  expect({ exit: result.code, error: result.json<{ error: { code: string } }>().error.code }, result.stderr).toEqual({ exit, error: code });
  expect(result.stderr).toMatch(/^error: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

const instance = (id: string) =>
  admin()
    .request(ServiceDocument, { id })
    .then(({ service }) => service);

describe('services, discover, register, deregister', () => {
  it('registers from flags and from a file, and lists and discovers what it registered', async () => {
    const byFlags = ok(
      await sb([
        'register',
        ...['--name', 'payments', '--id', 'payments-1', '--address', '10.0.0.5', '--port', '8080', '--version', '2.1.0'],
        ...['--tag', 'eu', '--tag', 'card', '--meta', 'team=pay', '--weight', '3'],
      ]),
    );
    expect(byFlags.stdout).toBe('registered payments-1 (payments 2.1.0 at 10.0.0.5:8080), PASSING\n');
    expect(await instance('payments-1')).toMatchObject({
      name: 'payments',
      version: '2.1.0',
      port: 8080,
      tags: ['eu', 'card'],
      metadata: { team: 'pay' },
      weight: 3,
    });

    const file = path.join(scratch, 'payments-2.json');
    await writeFile(file, JSON.stringify({ id: 'payments-2', name: 'payments', address: '10.0.0.6', port: 8080, version: '1.9.0', tags: ['us'] }));
    const byFile = ok(await sb(['register', file, '--json']));
    expect(byFile.json()).toMatchObject({ id: 'payments-2', name: 'payments', version: '1.9.0', health: { status: 'PASSING' } });

    const fromStdin = ok(await sb(['register', '-', '--json'], { token: ADMIN, input: JSON.stringify({ id: 'ledger-1', name: 'ledger', port: 9000 }) }));
    expect(fromStdin.json()).toMatchObject({ id: 'ledger-1', name: 'ledger' });

    // A TTL check starts critical: this instance is discovered, but not with --passing.
    ok(await sb(['register', '--name', 'payments', '--id', 'payments-3', '--address', '10.0.0.7', '--version', '2.2.0', '--tag', 'eu', '--check-ttl', '1h']));

    const services = ok(await sb(['services']));
    expect(services.stdout.split('\n')[0]).toMatch(/^SERVICE\s+INSTANCES\s+PASSING\s+VERSIONS\s+TAGS$/);
    expect(services.stdout).toMatch(/^payments\s+3\s+2\s+2\.2\.0, 2\.1\.0, 1\.9\.0\s+/m);
    const servicesJson = ok(await sb(['services', 'pay', '--json'])).json<{ name: string; instances: number; passing: number }[]>();
    expect(servicesJson).toEqual([expect.objectContaining({ name: 'payments', instances: 3, passing: 2 })]);

    const discovered = ok(await sb(['discover', 'payments', '--tag', 'eu', '--version', '^2']));
    expect(discovered.stdout.split('\n').slice(0, 3)).toEqual([
      expect.stringMatching(/^ID\s+ADDRESS\s+VERSION\s+HEALTH\s+WEIGHT\s+TAGS$/),
      expect.stringMatching(/^payments-1\s+10\.0\.0\.5:8080\s+2\.1\.0\s+PASSING\s+3\s+eu, card$/),
      expect.stringMatching(/^payments-3\s+10\.0\.0\.7\s+2\.2\.0\s+CRITICAL\s+1\s+eu$/),
    ]);
    const passing = ok(await sb(['discover', 'payments', '--tag', 'eu', '--version', '^2', '--passing', '--json'])).json<{ id: string }[]>();
    expect(passing.map((entry) => entry.id)).toEqual(['payments-1']);

    const none = ok(await sb(['discover', 'nothing-here']));
    expect(none.stdout).toBe('no instance of "nothing-here" matches\n');
  });

  it('refuses a malformed definition with exit 2 and registers nothing', async () => {
    const notJson = path.join(scratch, 'broken.json');
    await writeFile(notJson, '{"name": "broken-svc", "port": 80');
    const unknownField = path.join(scratch, 'unknown-field.json');
    await writeFile(unknownField, JSON.stringify({ name: 'broken-svc', prot: 80 }));
    const [syntax, field, noName] = await Promise.all([
      sb(['register', notJson, '--json']),
      sb(['register', unknownField, '--json']),
      sb(['register', '--id', 'broken-svc-1', '--json']),
    ]);
    failed(syntax, 2, 'USAGE');
    expect(syntax.stderr).toContain('broken.json is not JSON');
    failed(field, 2, 'BAD_USER_INPUT');
    expect(field.stderr).toContain('"prot" is not defined');
    failed(noName, 2, 'USAGE');
    const { discoverServices } = await admin().request(DiscoverServicesDocument, { name: 'broken-svc' });
    expect(discoverServices).toEqual([]);
  });

  it('deregisters an instance, and exits 3 for an id that does not exist', async () => {
    ok(await sb(['register', '--name', 'doomed', '--id', 'doomed-1', '--address', '10.0.0.9']));
    expect(ok(await sb(['deregister', 'doomed-1'])).stdout).toBe('deregistered doomed-1\n');
    expect(await instance('doomed-1')).toBeNull();
    failed(await sb(['deregister', 'doomed-1', '--json']), 3, 'NOT_FOUND');
  });
});

describe('maintenance, health, select', () => {
  beforeAll(async () => {
    const client = admin();
    await client.request(RegisterServiceDocument, { input: { id: 'api-1', name: 'api', address: '10.1.0.1', port: 81 } });
    await client.request(RegisterServiceDocument, {
      input: { id: 'api-2', name: 'api', address: '10.1.0.1', port: 82, healthCheck: { ttl: '1h', status: 'PASSING' } },
    });
  });

  it('puts an instance in maintenance and back, and shows it in its health and its history', async () => {
    const on = ok(await sb(['maintenance', 'api-2', 'on', '--reason', 'kernel upgrade']));
    expect(on.stdout).toBe('api-2 is in maintenance (kernel upgrade), CRITICAL\n');
    expect(await instance('api-2')).toMatchObject({ health: { status: 'CRITICAL' } });

    const health = ok(await sb(['health', 'api-2', '--json'])).json<{
      id: string;
      health: { status: string };
      checks: { name: string }[];
      history: { to: string }[];
    }>();
    expect(health).toMatchObject({ id: 'api-2', health: { status: 'CRITICAL' } });
    expect(health.checks).toEqual([expect.objectContaining({ name: 'TTL', status: 'PASSING' })]);
    expect(health.history[0]).toMatchObject({ instanceStatus: 'CRITICAL' });
    const human = ok(await sb(['health', 'api-2']));
    expect(human.stdout).toMatch(/^api-2\s+CRITICAL/);
    expect(human.stdout).toMatch(/^CHECK\s+KIND\s+STATUS\s+TARGET\s+INTERVAL\s+LAST RUN\s+OUTPUT\nTTL\s+TTL\s+PASSING\s+ttl 1h/m);
    expect(human.stdout).toMatch(/^History$/m);

    expect(ok(await sb(['maintenance', 'api-2', 'off'])).stdout).toBe('api-2 is out of maintenance, PASSING\n');
    expect(await instance('api-2')).toMatchObject({ health: { status: 'PASSING' } });
  });

  it('selects an instance, explains a choice, and exits 3 when none is available', async () => {
    const chosen = ok(await sb(['select', 'api', '--strategy', 'CONSISTENT_HASH', '--key', 'user-42', '--json'])).json<{ id: string; address: string }>();
    expect(['api-1', 'api-2']).toContain(chosen.id);
    // The same key, the same instance.
    const again = ok(await sb(['select', 'api', '--strategy', 'CONSISTENT_HASH', '--key', 'user-42']));
    expect(again.stdout).toMatch(new RegExp(`^${chosen.id}\\s+10\\.1\\.0\\.1:8\\d\\s+PASSING\\n$`));

    ok(await sb(['maintenance', 'api-1', 'on']));
    const explained = ok(await sb(['select', 'api', '--explain']));
    expect(explained.stdout).toMatch(/^selected api-2 \(10\.1\.0\.1:82\) by ROUND_ROBIN/);
    expect(explained.stdout).toMatch(/^api-1\s+10\.1\.0\.1:81\s+CRITICAL\s+no\s+.*MAINTENANCE/m);
    ok(await sb(['maintenance', 'api-1', 'off']));

    failed(await sb(['select', 'no-such-service', '--json']), 3, 'NOT_FOUND');
    const nothing = await sb(['select', 'no-such-service', '--explain', '--json']);
    expect(nothing.code).toBe(3);
    expect(nothing.json()).toMatchObject({ selected: null, candidates: [] });
    // A consistent hash without a key is the caller's mistake.
    failed(await sb(['select', 'api', '--strategy', 'CONSISTENT_HASH', '--json']), 2, 'BAD_USER_INPUT');
  });

  it('exits 3 for the health of an unknown instance', async () => {
    failed(await sb(['health', 'no-such-instance', '--json']), 3, 'NOT_FOUND');
  });
});

describe('config', () => {
  it('sets, gets, checks versions, lists history, rolls back and deletes', async () => {
    expect(ok(await sb(['config', 'set', 'payments.timeout', '30'])).stdout).toBe('payments.timeout = 30  (version 1)\n');
    expect(ok(await sb(['config', 'set', 'payments.timeout', '45', '--expected-version', '1'])).stdout).toBe('payments.timeout = 45  (version 2)\n');
    const stale = await sb(['config', 'set', 'payments.timeout', '50', '--expected-version', '1', '--json']);
    failed(stale, 4, 'CONFLICT');
    // A word that is not JSON is a string; --string keeps a number-like word a string.
    ok(await sb(['config', 'set', 'payments.mode', 'fast', '--env', 'prod']));
    ok(await sb(['config', 'set', 'payments.code', '007', '--string']));
    const stored = async (key: string, environment?: string) =>
      (await admin().request(ConfigDocument, { key, environment: environment ?? null })).config?.value;
    expect([await stored('payments.timeout'), await stored('payments.mode', 'prod'), await stored('payments.code')]).toEqual([45, 'fast', '007']);

    const got = ok(await sb(['config', 'get', 'payments.timeout', '--env', 'prod', '--json'])).json();
    expect(got).toMatchObject({ key: 'payments.timeout', value: 45, version: 2, inherited: true });
    expect(ok(await sb(['config', 'get', 'payments.mode', '--env', 'prod'])).stdout).toMatch(/^payments\.mode \[prod\] = "fast" {2}\(version 1, updated /);
    failed(await sb(['config', 'get', 'payments.nothing', '--json']), 3, 'NOT_FOUND');

    const history = ok(await sb(['config', 'history', 'payments.timeout', '--json'])).json<{ version: number; value: unknown }[]>();
    expect(history.map(({ version, value }) => [version, value])).toEqual([
      [2, 45],
      [1, 30],
    ]);
    expect(ok(await sb(['config', 'rollback', 'payments.timeout', '1'])).stdout).toMatch(/^payments\.timeout = 30 {2}\(version 3, restored from version 1\)/);
    expect(await stored('payments.timeout')).toBe(30);

    expect(ok(await sb(['config', 'delete', 'payments.mode', '--env', 'prod'])).stdout).toBe('deleted payments.mode [prod]\n');
    expect(await stored('payments.mode', 'prod')).toBeUndefined();
    failed(await sb(['config', 'delete', 'payments.mode', '--env', 'prod', '--json']), 3, 'NOT_FOUND');
  });

  it('watch prints each change until Ctrl-C, then exits 0 with its socket closed', async () => {
    const client = admin();
    const watch = await startCli(['config', 'watch', 'feature.', '--prefix', '--json'], {
      env: { SWITCHBOARD_URL: registry.node.url, SWITCHBOARD_TOKEN: ADMIN },
    });
    // A watch sees changes from when it is subscribed: write a probe key until it shows one, then the changes.
    let probe = 0;
    await expect
      .poll(
        async () => {
          await client.request(SetConfigDocument, { key: 'feature.probe', value: ++probe });
          return watch.lines.length;
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBeGreaterThan(0);
    await client.request(SetConfigDocument, { key: 'feature.flag', value: true });
    await client.request(SetConfigDocument, { key: 'feature.flag', value: false });
    await client.request(SetConfigDocument, { key: 'other.key', value: 1 });
    await client.request(SetConfigDocument, { key: 'feature.limit', value: 10 });
    const changes = () =>
      watch.lines.map((line) => JSON.parse(line) as { key: string; newValue: unknown; version: number }).filter((change) => change.key !== 'feature.probe');
    await expect.poll(() => changes().length).toBe(3);
    expect(changes()).toEqual([
      expect.objectContaining({ key: 'feature.flag', newValue: true, version: 1 }),
      expect.objectContaining({ key: 'feature.flag', newValue: false, version: 2 }),
      expect.objectContaining({ key: 'feature.limit', newValue: 10, version: 1 }),
    ]);
    expect(await watch.stop('SIGINT')).toBe(0);
    expect(watch.stderr()).toBe('');
  });
});

describe('components and deps', () => {
  beforeAll(async () => {
    const client = admin();
    const components = [
      { id: 'checkout', type: 'FLOW', name: 'checkout', version: '2.0.0', dependencies: ['validate-card@^1', 'fraud-check@^2', 'ledger'] },
      { id: 'validate-card', type: 'VALIDATOR', name: 'validate-card', version: '1.2.0', dependencies: ['tokenizer'] },
      { id: 'tokenizer', type: 'STEP', name: 'tokenizer', version: '3.0.0' },
      { id: 'fraud-check', type: 'STEP', name: 'fraud-check', version: '1.4.0' },
      { id: 'ledger', type: 'STEP', name: 'ledger', version: '1.0.0', dependencies: ['checkout', 'tokenizer'] },
    ] as const;
    for (const input of components)
      await client.request(RegisterComponentDocument, { input: { ...input, dependencies: 'dependencies' in input ? [...input.dependencies] : [] } });
  });

  it('lists components, by type too', async () => {
    const steps = ok(await sb(['components', '--type', 'STEP', '--json'])).json<{ id: string }[]>();
    expect(steps.map((component) => component.id).sort()).toEqual(['fraud-check', 'ledger', 'tokenizer']);
    const all = ok(await sb(['components']));
    expect(all.stdout).toMatch(/^checkout\s+FLOW\s+checkout\s+2\.0\.0\s+validate-card@\^1, fraud-check@\^2, ledger$/m);
  });

  it('shows a tree of dependencies with the missing one and the cycle marked', async () => {
    const tree = ok(await sb(['deps', 'checkout']));
    expect(tree.stdout).toBe(
      [
        'checkout 2.0.0 (FLOW, checkout)',
        '├── validate-card@^1 → validate-card 1.2.0',
        '│   └── tokenizer → tokenizer 3.0.0',
        '├── fraud-check@^2  MISSING (registered: 1.4.0)',
        '└── ledger → ledger 1.0.0',
        '    ├── checkout → checkout 2.0.0  CYCLE',
        '    └── tokenizer → tokenizer 3.0.0  (shown above)',
        '',
      ].join('\n'),
    );
    const json = ok(await sb(['deps', 'checkout', '--json'])).json<{
      dependencies: { spec: string; status: string; dependencies?: { spec: string; status: string }[] }[];
    }>();
    expect(json.dependencies.map(({ spec, status }) => [spec, status])).toEqual([
      ['validate-card@^1', 'resolved'],
      ['fraud-check@^2', 'missing'],
      ['ledger', 'resolved'],
    ]);
    expect(json.dependencies[2]!.dependencies!.map(({ spec, status }) => [spec, status])).toEqual([
      ['checkout', 'cycle'],
      ['tokenizer', 'repeated'],
    ]);
    failed(await sb(['deps', 'no-such-component', '--json']), 3, 'NOT_FOUND');
  });
});

describe('states, tokens, alerts', () => {
  it('shows service states', async () => {
    await admin().request(RegisterServiceDocument, { input: { id: 'dead-1', name: 'dead', address: '10.2.0.1', healthCheck: { ttl: '1h' } } });
    const report = ok(await sb(['states', '--prefix', 'dead', '--json'])).json<{ counts: { down: number }; services: { name: string; state: string }[] }>();
    expect(report.counts.down).toBe(1);
    expect(report.services).toEqual([expect.objectContaining({ name: 'dead', state: 'DOWN' })]);
    const human = ok(await sb(['states', '--prefix', 'dead']));
    expect(human.stdout).toMatch(/^0 active, 0 scaling, 0 healing, 1 down/);
    expect(human.stdout).toMatch(/^dead\s+DOWN\s+1\s+0\s+0\s+1\s+/m);
  });

  it('creates a token whose secret works, lists it, and revokes it', async () => {
    const created = await sb(['token', 'create', '--name', 'ci', '--scope', 'WRITE', '--service-prefix', 'ci-']);
    ok(created);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^\S{20,}$/);
    expect(created.stderr).toMatch(/^created token (\S+) "ci" \(WRITE, services ci-\*\); its secret is shown only now:\n$/);
    const id = /created token (\S+)/.exec(created.stderr)![1]!;

    // The new token registers under its prefix and is refused elsewhere (exit 6, FORBIDDEN).
    ok(await sb(['register', '--name', 'ci-runner', '--address', '10.3.0.1'], { token: secret }));
    failed(await sb(['register', '--name', 'payments', '--id', 'payments-9', '--address', '10.3.0.1', '--json'], { token: secret }), 6, 'FORBIDDEN');

    const listed = ok(await sb(['token', 'list', '--json'])).json<{ id: string; name: string; servicePrefix: string }[]>();
    expect(listed).toContainEqual(expect.objectContaining({ id, name: 'ci', servicePrefix: 'ci-' }));
    expect(ok(await sb(['token', 'revoke', id])).stdout).toBe(`revoked ${id}\n`);
    const { tokens } = await admin().request(TokensDocument);
    expect(tokens.find((token) => token.id === id)?.revokedAt).toBeTruthy();
    failed(await sb(['services', '--json'], { token: secret }), 6, 'UNAUTHENTICATED');
    failed(await sb(['token', 'revoke', 'tok_nope', '--json']), 3, 'NOT_FOUND');
  });

  it('lists alerts', async () => {
    const client = admin();
    await client.request(RegisterServiceDocument, { input: { id: 'pager-1', name: 'pager', address: '10.4.0.1', healthCheck: { ttl: '1h' } } });
    await client.request(CreateAlertRuleDocument, { input: { name: 'pager-down', kind: 'NO_PASSING', service: 'pager' } });
    await expect
      .poll(async () => (await sb(['alerts', '--state', 'FIRING', '--json'])).json<unknown[]>(), { timeout: 15_000 })
      .toEqual([expect.objectContaining({ state: 'FIRING', rule: { name: 'pager-down', kind: 'NO_PASSING' } })]);
    expect(ok(await sb(['alerts'])).stdout).toMatch(/^RULE\s+KIND\s+STATE\s+SINCE\s+SILENCED\s+LABELS\npager-down\s+NO_PASSING\s+FIRING\s+\d{4}-/);
  });
});

describe('usage, tokens and exit codes', () => {
  it('exits 2 on a missing argument or an unknown option, and 6 on a wrong token', async () => {
    const [missing, unknown, wrongToken, noToken] = await Promise.all([
      sb(['discover']),
      sb(['services', '--bogus']),
      sb(['services', '--json'], { token: 'not-a-token' }),
      sb(['config', 'set', 'a.b', '1', '--json'], { token: undefined }),
    ]);
    expect([missing.code, unknown.code]).toEqual([2, 2]);
    expect(missing.stderr).toContain("missing required argument 'name'");
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    failed(wrongToken, 6, 'UNAUTHENTICATED');
    failed(noToken, 6, 'UNAUTHENTICATED');
    expect(await admin().request(ConfigDocument, { key: 'a.b' })).toEqual({ config: null });
  });

  it('exits 5 when the registry cannot be reached', async () => {
    const result = await runCli(['services', '--server', 'http://127.0.0.1:9', '--json']);
    failed(result, 5, 'UNAVAILABLE');
  });

  it('prints its version and help with examples', async () => {
    const [version, help] = await Promise.all([runCli(['--version']), runCli(['config', 'set', '--help'])]);
    expect(ok(version).stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect(ok(help).stdout).toMatch(/^Usage: switchboard config set \[options\] <key> <value>/);
    expect(help.stdout).toContain('--expected-version <n>');
    expect(help.stdout).toContain('SWITCHBOARD_URL');
    expect(help.stdout).toMatch(/Examples:\n {2}switchboard config set payments\.timeout 30/);
  });
});

describe('completion', () => {
  const exec = promisify(execFile);

  it('bash completes commands, subcommands, options and choices from the generated script', async () => {
    const script = ok(await runCli(['completion', 'bash'])).stdout;
    const file = path.join(scratch, 'switchboard.bash');
    await writeFile(file, script);
    // Each case: the words typed, the index of the word being completed, what bash offers.
    const cases: [string, number, string][] = [
      ['switchboard con', 1, 'config'],
      ['switchboard config ""', 2, 'get set delete history rollback watch'],
      ['switchboard config w', 2, 'watch'],
      ['switchboard select api --strategy ""', 4, 'ROUND_ROBIN WEIGHTED RANDOM PRIORITY CONSISTENT_HASH'],
      ['switchboard select api --strategy W', 4, 'WEIGHTED'],
      ['switchboard --version', 1, '--version'],
      ['switchboard events tail --a', 3, '--after'],
      ['switchboard maintenance api-1 ""', 3, 'on off'],
      // A value of an option is not mistaken for a subcommand: "config" here is --server's value.
      ['switchboard services --server config --t', 4, '--token'],
      ['switchboard discover --server config --t', 4, '--tag --token'],
    ];
    const program = cases.map(([words, index]) => `COMP_WORDS=(${words}); COMP_CWORD=${index}; COMPREPLY=(); _switchboard; echo "\${COMPREPLY[*]}"`).join('\n');
    const { stdout } = await exec('bash', ['-c', `source ${file}\n${program}`]);
    expect(stdout.split('\n').slice(0, -1)).toEqual(cases.map(([, , offered]) => offered));
  });

  // Driven in a real interactive zsh (test/fixtures/zsh-complete.zsh: zle in a pseudo-terminal, compinit's own
  // functions), installed both ways the script's header offers: sourced, and autoloaded from $fpath.
  describe.skipIf(zshMissing !== undefined)('zsh', () => {
    it('completes commands, subcommands, options and choices from the generated script', async () => {
      const script = ok(await runCli(['completion', 'zsh'])).stdout;
      expect(script.startsWith('#compdef switchboard\n')).toBe(true);
      const functions = path.join(scratch, 'zsh-functions');
      await mkdir(functions, { recursive: true });
      await writeFile(path.join(functions, '_switchboard'), script);
      const sourced = path.join(scratch, 'switchboard.zsh');
      await writeFile(sourced, script);
      // Each case: how the script is installed, the line typed before Tab, what zsh offers.
      const cases: ['source' | 'fpath', string, string[]][] = [
        ['source', 'switchboard con', ['config']],
        ['fpath', 'switchboard co', ['config', 'components', 'compose', 'completion']],
        ['source', 'switchboard config ', ['get', 'set', 'delete', 'history', 'rollback', 'watch']],
        ['fpath', 'switchboard config w', ['watch']],
        ['source', 'switchboard discover payments --', ['--tag', '--version', '--passing', '--server', '--token', '--json', '--help']],
        ['fpath', 'switchboard discover --t', ['--tag', '--token']],
        ['source', 'switchboard select api --strategy ', ['ROUND_ROBIN', 'WEIGHTED', 'RANDOM', 'PRIORITY', 'CONSISTENT_HASH']],
        ['source', 'switchboard maintenance api-1 ', ['on', 'off']],
        // A value of an option is not mistaken for a subcommand: "config" here is --server's value.
        ['fpath', 'switchboard services --server config --t', ['--token']],
      ];
      const offered = await Promise.all(
        cases.map(async ([how, line]) => {
          const { stdout } = await exec('zsh', ['-f', ZSH_COMPLETE, how, how === 'fpath' ? functions : sourced, line], { timeout: 15_000 });
          return stdout.split('\n').filter((match) => match !== '');
        }),
      );
      expect(offered).toEqual(cases.map(([, , expected]) => expected));
    });
  });
});
