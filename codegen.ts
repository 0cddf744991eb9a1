import type { CodegenConfig } from '@graphql-codegen/cli';

/** The client preset's settings, shared by every generated set of typed documents. */
const typedDocuments = {
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
} as const;

/**
 * Typed documents, from the committed schema.graphql: for @switchboard/client (and the tests,
 * which use it) from packages/client/operations, and for the dashboard from ui/operations.
 * Regenerate with `npm run codegen`; a test fails when the output is stale.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'packages/client/src/generated/': { ...typedDocuments, documents: ['packages/client/operations/**/*.graphql'] },
    'ui/src/generated/': { ...typedDocuments, documents: ['ui/operations/**/*.graphql'] },
  },
  emitLegacyCommonJSImports: false,
};

export default config;
