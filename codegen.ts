import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for @switchboard/client (and the tests, which use it), from the
 * committed schema.graphql and the operations under packages/client/operations.
 * Regenerate with `npm run codegen`; a test fails when the output is stale.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['packages/client/operations/**/*.graphql'],
  generates: {
    'packages/client/src/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: {
          DateTime: 'string',
          Duration: 'string',
          JSON: 'unknown',
        },
      },
    },
  },
  emitLegacyCommonJSImports: false,
};

export default config;
