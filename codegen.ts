import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the client SDK (and the tests, which use the SDK), from the
 * committed schema.graphql and the operations under src/client/operations.
 * Regenerate with `npm run codegen`; a test fails when the output is stale.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/client/operations/**/*.graphql'],
  generates: {
    'src/client/generated/': {
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
