import { SwitchboardError, type HealthCheckInput } from '@switchboard/contracts';
import { assertCanWriteKey, assertCanWriteService, hasScope } from '../registry/access/index.js';
import type { GraphQLContext } from './context.js';

/**
 * Resource rules that scopes alone cannot express: a token's servicePrefix and
 * keyPrefix. What depends only on the request (the name a registration gives) is
 * checked here, before the domain call. What depends on stored state (who owns an
 * instance id now) is checked by the domain write itself, under the instance's row
 * lock: the resolvers pass `context.principal` down. Checked here and written in
 * another transaction, two tokens could both take a new id at once.
 */

/** May the caller give an instance this name? (Stateless; the owner is checked by the write.) */
export function authorizeServiceName(context: GraphQLContext, name: string): void {
  assertCanWriteService(context.principal, name);
}

/** Script checks run commands on the registry host: ADMIN only, besides the operator's opt-in. */
export function authorizeChecks(context: GraphQLContext, checks: readonly HealthCheckInput[]): void {
  if (checks.some((check) => check.script != null) && !hasScope(context.principal, 'ADMIN')) {
    throw new SwitchboardError('FORBIDDEN', 'Script checks need an ADMIN token: they run commands on the registry host.');
  }
}

export function authorizeKeyWrite(context: GraphQLContext, key: string): void {
  assertCanWriteKey(context.principal, key);
}
