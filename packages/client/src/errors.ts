import type { GraphQLFormattedError } from 'graphql';

/** A GraphQL response that carried errors; `code` is the first error's `extensions.code`. */
export class SwitchboardRequestError extends Error {
  override readonly name = 'SwitchboardRequestError';

  constructor(
    readonly errors: readonly GraphQLFormattedError[],
    readonly status?: number,
  ) {
    super(errors.map((error) => error.message).join('; ') || `HTTP ${status}`);
  }

  get code(): string | undefined {
    return this.errors[0]?.extensions?.['code'] as string | undefined;
  }
}
