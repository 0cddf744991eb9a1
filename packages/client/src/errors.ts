import type { ErrorCode } from '@switchboard/contracts';
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

  /** One of Switchboard's codes (`NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`…), or one GraphQL's own layers use (`GRAPHQL_VALIDATION_FAILED`). */
  get code(): ErrorCode | (string & {}) | undefined {
    return this.errors[0]?.extensions?.['code'] as ErrorCode | undefined;
  }
}
