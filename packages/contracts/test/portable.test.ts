import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP as nodeIsIP } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isIP, jsonProblem, textFaults, utf8Length } from '../src/index.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const distDir = join(packageDir, 'dist');

/** Every module specifier a built file loads: import and export statements, dynamic import(), require(). */
function specifiersOf(code: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]!));
}

function builtFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? builtFiles(join(dir, entry.name)) : entry.name.endsWith('.js') ? [join(dir, entry.name)] : [],
  );
}

describe('the built package runs in a browser', () => {
  beforeAll(() => {
    // Test what ships: the build of the current sources.
    execFileSync('npx', ['tsc', '-b', packageDir], { stdio: 'inherit' });
  }, 60_000);

  it('loads nothing but its own files, zod and semver', () => {
    const files = builtFiles(distDir);
    expect(files.map((file) => relative(distDir, file))).toContain('index.js');
    const foreign = files.flatMap((file) =>
      specifiersOf(readFileSync(file, 'utf8'))
        .filter((specifier) => !specifier.startsWith('./') && !specifier.startsWith('../') && specifier !== 'zod' && specifier !== 'semver')
        .map((specifier) => `${relative(distDir, file)}: ${specifier}`),
    );
    expect(foreign).toEqual([]);
  });

  it('uses no Node global', () => {
    // The names used as globals: not a property (`options.require`) nor an object key (`{ require: [] }`).
    const nodeGlobal = /(?<![.\w$])(Buffer|process|require|__dirname)\b(?!\s*\??:)/;
    const globals = builtFiles(distDir).filter((file) => nodeGlobal.test(readFileSync(file, 'utf8').replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '')));
    expect(globals.map((file) => relative(distDir, file))).toEqual([]);
  });
});

describe('what replaces Node built-ins', () => {
  it('isIP answers as node:net does', () => {
    const candidate = fc.oneof(
      fc.ipV4(),
      fc.ipV4Extended(),
      fc.ipV6(),
      fc.ipV6().map((address) => `${address}%eth0`),
      fc.domain(),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%[]x-') }),
    );
    fc.assert(
      fc.property(candidate, (text) => isIP(text) === nodeIsIP(text)),
      { numRuns: 2000 },
    );
  });

  it('utf8Length counts what Buffer.byteLength counts', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)) }),
        (text, surrogates) => {
          for (const value of [text, text + surrogates, surrogates + text]) expect(utf8Length(value)).toBe(Buffer.byteLength(value, 'utf8'));
        },
      ),
    );
  });
});

describe('the one text check', () => {
  it.each([
    ['plain', 'any', []],
    ['a\u0000b', 'any', ['nul']],
    ['\ud800', 'any', ['invalid-unicode']],
    ['tab\tbell\u0007', 'any', []],
    ['tab\tbell\u0007', 'none', ['control']],
    ['tab\tline\nreturn\r', 'line-breaks', []],
    ['bell\u0007', 'line-breaks', ['control']],
    ['a\u0000\ud800\u0001', 'none', ['nul', 'invalid-unicode', 'control']],
    ['right-to-left\u202e', 'printable', ['control']],
    ['zero\u200dwidth joiner', 'printable', []],
    ['Geschäftslogik', 'printable', []],
  ] as const)('%j with %s control characters: %j', (text, controls, faults) => {
    expect(textFaults(text, controls)).toEqual(faults);
  });

  it('JSON values: keys and strings at any depth, without recursion', () => {
    expect(jsonProblem({ a: [{ 'b\u0000': 1 }] }, { maxBytes: 1000, maxDepth: 8 })).toBe('contains a NUL character');
    expect(jsonProblem({ a: ['\udc00'] }, { maxBytes: 1000, maxDepth: 8 })).toBe('contains invalid Unicode (an unpaired surrogate)');
    expect(jsonProblem([[[1]]], { maxBytes: 1000, maxDepth: 2 })).toBe('nests deeper than 2 levels');
    expect(jsonProblem({ a: 'é'.repeat(10) }, { maxBytes: 20, maxDepth: 2 })).toBe('is 28 bytes of JSON; the limit is 20');
    let deep: unknown = 'end\u0000';
    for (let level = 0; level < 100_000; level++) deep = [deep];
    expect(jsonProblem(deep, { maxBytes: Infinity, maxDepth: Infinity })).toBe('contains a NUL character');
  });

  it('reports the first problem in document order', () => {
    expect(jsonProblem({ first: ['ok', '\u0000'], second: '\udc00' }, { maxBytes: 1000, maxDepth: 8 })).toBe('contains a NUL character');
    expect(jsonProblem({ first: ['ok', '\udc00'], second: '\u0000' }, { maxBytes: 1000, maxDepth: 8 })).toBe(
      'contains invalid Unicode (an unpaired surrogate)',
    );
  });
});
