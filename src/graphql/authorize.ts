import { assertCanWriteKey, assertCanWriteService, hasScope } from '../registry/access/index.js';
import { getHealthChecksByIds, type HealthCheckInput } from '../registry/health/index.js';
import { getServicesByIds } from '../registry/services/index.js';
import { SwitchboardError } from '../errors.js';
import type { GraphQLContext } from './context.js';

/**
 * Resource rules that scopes alone cannot express: a token's servicePrefix and
 * keyPrefix. Checked before the domain call, which then writes as usual.
 */

/** May the caller change instance `id` (and, when it names one, give it `name`)? */
export async function authorizeInstanceWrite(context: GraphQLContext, id: string, name?: string): Promise<void> {
  const { principal } = context;
  if (principal.servicePrefix === null && hasScope(principal, 'WRITE')) return;
  if (name !== undefined) assertCanWriteService(principal, name);
  // The instance as it is now: a token may not take over an id registered under another name.
  const [existing] = await getServicesByIds(context.db, [id]);
  if (existing) assertCanWriteService(principal, existing.name);
}

/** May the caller change health check `checkId` (through its instance)? */
export async function authorizeCheckWrite(context: GraphQLContext, checkId: string): Promise<void> {
  if (context.principal.servicePrefix === null) return;
  const [check] = await getHealthChecksByIds(context.db, [checkId]);
  if (check) await authorizeInstanceWrite(context, check.serviceId);
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
