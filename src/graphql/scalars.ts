import { createGraphQLError } from 'graphql-yoga';
import { GraphQLScalarType, Kind } from 'graphql';
import { formatDuration, parseDuration } from '@switchboard/contracts';

const invalid = (value: unknown) =>
  createGraphQLError(`Duration must be a string like "250ms", "30s", "5m" or "1h30m"; got ${JSON.stringify(value)?.slice(0, 80)}.`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });

/** Go/Consul-style durations on the wire; milliseconds inside. */
export const DurationScalar = new GraphQLScalarType<number, string>({
  name: 'Duration',
  description: 'A duration written like Go and Consul write them: "250ms", "30s", "5m", "1h30m". Units: ns, us, ms, s, m, h.',
  serialize: (value) => formatDuration(Number(value)),
  parseValue: (value) => {
    const ms = typeof value === 'string' ? parseDuration(value) : undefined;
    if (ms === undefined) throw invalid(value);
    return ms;
  },
  parseLiteral: (ast) => {
    const ms = ast.kind === Kind.STRING ? parseDuration(ast.value) : undefined;
    if (ms === undefined) throw invalid(ast.kind === Kind.STRING ? ast.value : ast.kind);
    return ms;
  },
});
