/**
 * Imported first by the CLI, because libraries read NODE_ENV as they load:
 * outside production, graphql-js backs every failed `instanceof` with a
 * cross-realm check, which costs about a tenth of a large query's CPU.
 */
process.env['NODE_ENV'] ??= 'production';
