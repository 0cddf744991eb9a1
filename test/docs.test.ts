import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kind, parse, validate, type OperationDefinitionNode } from 'graphql';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { getSchema } from '../src/graphql/schema/index.js';
import { createTestDatabase } from './support/database.js';
import { brokenLink, differences, documentationFiles, parseJsonValues, readPage, ROOT, textMatches, type CodeBlock, type Page } from './support/docs.js';
import { startTestNode, type TestNode } from './support/nodes.js';
import { cliEntry } from './support/cli.js';

/**
 * The documentation works: every link and anchor resolves, every GraphQL example is valid for the
 * schema, and every example marked runnable runs against a real server and answers what the page
 * shows. The rules are in docs/development.md ("Documentation").
 */

const run = promisify(execFile);
const pages = new Map<string, Page>();
const pageOf = (file: string): Page => {
  let page = pages.get(file);
  if (!page) pages.set(file, (page = readPage(file)));
  return page;
};
const files = documentationFiles();
const where = (block: CodeBlock) => `${block.file}:${block.line}`;

describe('links', () => {
  it('every relative link and anchor in the documentation resolves', () => {
    const broken = files.flatMap((file) =>
      pageOf(file)
        .links.map((link) => brokenLink(link, pageOf))
        .filter((why) => why !== undefined),
    );
    expect(broken).toEqual([]);
  });

  it('the pages checked include the README, docs/ and the other READMEs', () => {
    expect(files).toEqual(
      expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/api/README.md', 'packages/sdk/README.md', 'src/registry/README.md']),
    );
  });
});

describe('GraphQL examples', () => {
  it('every graphql block is a valid document for the schema', () => {
    const schema = getSchema();
    const invalid = files.flatMap((file) =>
      pageOf(file)
        .blocks.filter((block) => block.lang === 'graphql')
        .flatMap((block) => {
          try {
            return validate(schema, parse(block.code)).map((error) => `${where(block)}: ${error.message}`);
          } catch (error) {
            return [`${where(block)}: ${(error as Error).message}`];
          }
        }),
    );
    expect(invalid).toEqual([]);
  });
});

describe('TypeScript examples', () => {
  const marked = files.flatMap((file) => pageOf(file).blocks.filter((block) => block.typechecked));

  it('the backends are shown in examples the compiler checks', () => {
    expect(marked.map((block) => block.file)).toEqual(expect.arrayContaining(['README.md', 'docs/backends/multi.md']));
    expect(marked.filter((block) => block.lang !== 'ts').map(where)).toEqual([]);
  });

  it('every example marked typechecked compiles against the packages as a service would use them', async () => {
    // Under the repository, so that `@switchboard/*` and their dependencies resolve from its node_modules.
    const dir = path.join(ROOT, '.vitest', 'doc-examples');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const sources = new Map<string, CodeBlock>();
    for (const block of marked) {
      const file = path.join(dir, `${block.file.replace(/\W+/g, '-')}-${block.line}.ts`);
      await writeFile(file, `${block.code}\nexport {};\n`);
      sources.set(file, block);
    }
    const program = ts.createProgram([...sources.keys()], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      lib: ['lib.es2024.d.ts', 'lib.dom.d.ts'],
    });
    const errors = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const block = diagnostic.file && sources.get(path.resolve(diagnostic.file.fileName));
      const line = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line : 0;
      const at = block ? `${block.file}:${block.line + 1 + line}` : (diagnostic.file?.fileName ?? '?');
      return `${at}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
    });
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('runnable examples', () => {
  const runnable = files.filter((file) => pageOf(file).blocks.some((block) => block.runnable));

  it('the README tour is runnable, and shows the output of each step', () => {
    const tour = pageOf('README.md').blocks.filter((block) => block.runnable);
    expect(tour.filter((block) => block.lang === 'sh').length).toBeGreaterThanOrEqual(5);
    expect(tour.filter((block) => !block.expected).map(where)).toEqual([]);
  });

  // Each page against a fresh server, as `npm start` runs it: no admin token, the server in its own catalog.
  // A few pages run side by side (most of the time goes to waiting on servers and processes), each
  // server with a small pool, so the file holds few connections of the PostgreSQL the suite shares.
  const slots = new Slots(3);
  it.concurrent.each(runnable)(
    '%s: its runnable examples run in order and answer what the page shows',
    async (file) => {
      const release = await slots.take();
      try {
        await runPage(file);
      } finally {
        release();
      }
    },
    // The time includes the wait for a slot, behind the other pages.
    120_000,
  );
});

/** The page's runnable blocks, in order, against a fresh server on a fresh database. */
async function runPage(file: string): Promise<void> {
  const database = await createTestDatabase();
  let node: TestNode | undefined;
  const workDir = await mkdtemp(path.join(tmpdir(), 'docs-'));
  try {
    await prepareWorkDir(workDir);
    node = await startTestNode(database.url, { SWITCHBOARD_SELF_REGISTER: 'true', SWITCHBOARD_DB_POOL_SIZE: '2' });
    const failures: string[] = [];
    for (const block of pageOf(file).blocks.filter((candidate) => candidate.runnable)) {
      const failure = await runBlock(block, node, workDir);
      if (failure) failures.push(failure);
    }
    expect(failures).toEqual([]);
  } finally {
    await node?.stop();
    await database.drop();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Runs one block; returns why it failed, or undefined. */
async function runBlock(block: CodeBlock, node: TestNode, workDir: string): Promise<string | undefined> {
  let outputs: { text: string; values: unknown[] | undefined };
  try {
    if (block.lang === 'sh') outputs = await runShell(block, node, workDir);
    else if (block.lang === 'graphql') outputs = await runGraphQL(block, node);
    else return `${where(block)}: a runnable block must be sh or graphql, not "${block.lang}"`;
  } catch (error) {
    return `${where(block)}: ${(error as Error).message}`;
  }
  const expected = block.expected;
  if (!expected) {
    const failed = (outputs.values ?? []).filter(hasErrors);
    return failed.length === 0 ? undefined : `${where(block)}: answered with errors: ${JSON.stringify(failed)}`;
  }
  if (expected.lang === 'text') {
    return textMatches(expected.code, outputs.text)
      ? undefined
      : `${where(block)}: printed ${JSON.stringify(outputs.text)}; ${where(expected)} shows ${JSON.stringify(expected.code.trim())}`;
  }
  if (outputs.values === undefined) return `${where(block)}: printed something that is not JSON: ${JSON.stringify(outputs.text.slice(0, 300))}`;
  const shown = parseJsonValues(expected.code);
  if (shown.length !== outputs.values.length) {
    return `${where(block)}: printed ${outputs.values.length} JSON value(s), ${where(expected)} shows ${shown.length}: ${outputs.text.slice(0, 500)}`;
  }
  const found = shown.flatMap((value, index) => differences(value, outputs.values![index]));
  return found.length === 0 ? undefined : `${where(block)}: the answer differs from ${where(expected)}:\n  ${found.join('\n  ')}`;
}

/**
 * The directory sh blocks run in, laid out as the repository's root is for a reader: `switchboard` on the
 * PATH (the CLI as the test support bundles it), examples/ and the packages they import.
 */
async function prepareWorkDir(workDir: string): Promise<void> {
  const bin = path.join(workDir, '.bin');
  await mkdir(bin);
  await writeFile(path.join(bin, 'switchboard'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(await cliEntry())} "$@"\n`);
  await chmod(path.join(bin, 'switchboard'), 0o755);
  await cp(path.join(ROOT, 'examples'), path.join(workDir, 'examples'), { recursive: true });
  await symlink(path.join(ROOT, 'node_modules'), path.join(workDir, 'node_modules'));
}

/** A sh block, with bash, against the test server instead of localhost:4000 (for `switchboard`, its default server). */
async function runShell(block: CodeBlock, node: TestNode, workDir: string) {
  const address = new URL(node.url).host;
  const script = block.code.replaceAll('localhost:4000', address).replaceAll('127.0.0.1:4000', address);
  try {
    const { stdout } = await run('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd: workDir,
      env: { PATH: `${path.join(workDir, '.bin')}:${process.env['PATH']}`, HOME: workDir, LANG: 'C.UTF-8', NO_COLOR: '1', SWITCHBOARD_URL: node.url },
      // A block may run the scanner (the TypeScript compiler): long on two busy cores.
      timeout: 60_000,
    });
    // What the CLI prints of its server, as the reader's would be.
    const text = stdout.replaceAll(address, '127.0.0.1:4000');
    return { text, values: tryJson(text) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`exited with ${failed.code}: ${failed.stderr || failed.stdout}`);
  }
}

/**
 * A graphql block, POSTed to /graphql: each operation in turn (by name, when it holds several). The
 * answers must hold no errors, but the last one's when the page shows errors; the last answer is the output.
 */
async function runGraphQL(block: CodeBlock, node: TestNode) {
  const operations = parse(block.code).definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  const showsErrors = block.expected?.lang === 'json' && parseJsonValues(block.expected.code).some(hasErrors);
  let last: unknown;
  for (const [index, operation] of operations.entries()) {
    if (operation.operation === 'subscription') throw new Error('a subscription cannot be runnable (it never ends)');
    const operationName = operations.length > 1 ? operation.name?.value : undefined;
    const response = await fetch(node.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: block.code, ...(operationName ? { operationName } : {}) }),
    });
    last = await response.json();
    const mayFail = showsErrors && index === operations.length - 1;
    if (hasErrors(last) && !mayFail) throw new Error(`${operation.name?.value ?? 'the operation'} answered with errors: ${JSON.stringify(last)}`);
  }
  return { text: JSON.stringify(last), values: [last] };
}

function tryJson(text: string): unknown[] | undefined {
  try {
    return parseJsonValues(text);
  } catch {
    return undefined;
  }
}

function hasErrors(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'errors' in value;
}

/** At most `size` holders at once; the others wait their turn. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async take(): Promise<() => void> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    return () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}
