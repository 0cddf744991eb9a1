import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../codegen.js';
import { printSchemaSDL } from '../src/graphql/schema/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('generated artifacts are current', () => {
  it('schema.graphql matches the Pothos schema (run `npm run schema:print`)', () => {
    expect(readFileSync(join(ROOT, 'schema.graphql'), 'utf8')).toBe(printSchemaSDL());
  });

  it('packages/client/src/generated matches schema.graphql and the operations (run `npm run codegen`)', async () => {
    const outputs = await generate({ ...codegenConfig, cwd: ROOT, silent: true }, false);
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) {
      expect(readFileSync(resolve(ROOT, output.filename), 'utf8'), output.filename).toBe(output.content);
    }
  }, 60_000);
});
