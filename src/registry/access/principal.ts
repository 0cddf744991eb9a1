import { SwitchboardError, type EventActor, type TokenScopeValue } from '@switchboard/contracts';

export type Scope = TokenScopeValue;

/** Who is asking, and what they may do. */
export interface Principal {
  /** Token id; "admin" for SWITCHBOARD_ADMIN_TOKEN; "anonymous" when the server runs open. */
  id: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  /** Service names this principal may write (null: any). */
  servicePrefix: string | null;
  /** Configuration keys it may write, and read when secret (null: any). */
  keyPrefix: string | null;
  expiresAt: Date | null;
  /**
   * Set only for the follower of a source (SWITCHBOARD_SOURCES): it writes that source's
   * instances and nothing else, and no one else writes them (instanceChangeRefusal).
   */
  source?: string;
}

const ALL_SCOPES: ReadonlySet<Scope> = new Set(['READ', 'WRITE', 'ADMIN']);

/** The server runs without SWITCHBOARD_ADMIN_TOKEN: local development, everything allowed. */
export const OPEN_PRINCIPAL: Principal = { id: 'anonymous', name: 'anonymous', scopes: ALL_SCOPES, servicePrefix: null, keyPrefix: null, expiresAt: null };

/**
 * The registry itself: workers, sweeps, the alert evaluator, start-up writes. Domain writes
 * take a principal as a required argument, so an adapter cannot forget to pass its caller's;
 * internal callers say so by passing this one.
 */
export const SYSTEM_PRINCIPAL: Principal = { id: 'system', name: 'switchboard', scopes: ALL_SCOPES, servicePrefix: null, keyPrefix: null, expiresAt: null };

/** The registry following source `name`: a system principal that may write that source's instances only. */
export function sourcePrincipal(name: string): Principal {
  return { id: `source:${name}`, name: `source ${name}`, scopes: ALL_SCOPES, servicePrefix: null, keyPrefix: null, expiresAt: null, source: name };
}

/** Whoever presents SWITCHBOARD_ADMIN_TOKEN. */
export const ADMIN_PRINCIPAL: Principal = { id: 'admin', name: 'admin', scopes: ALL_SCOPES, servicePrefix: null, keyPrefix: null, expiresAt: null };

/**
 * The grants of a token (a `Token` of tokens/model.ts has them), described here rather than imported:
 * tokens/ imports this module to check its callers, and no two folders import each other.
 */
export interface TokenGrants {
  id: string;
  name: string;
  scopes: readonly Scope[];
  servicePrefix: string | null;
  keyPrefix: string | null;
  expiresAt: Date | null;
}

export function principalFromToken(token: TokenGrants): Principal {
  return {
    id: token.id,
    name: token.name,
    scopes: new Set(token.scopes),
    servicePrefix: token.servicePrefix,
    keyPrefix: token.keyPrefix,
    expiresAt: token.expiresAt,
  };
}

/** Scopes nest: ADMIN includes WRITE, WRITE includes READ. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  if (principal.scopes.has('ADMIN')) return true;
  if (scope === 'READ') return principal.scopes.has('READ') || principal.scopes.has('WRITE');
  return principal.scopes.has(scope);
}

export function actorOf(principal: Principal): EventActor {
  return { id: principal.id, name: principal.name };
}

export function canWriteService(principal: Principal, name: string): boolean {
  return hasScope(principal, 'WRITE') && (principal.servicePrefix === null || name.startsWith(principal.servicePrefix));
}

export function assertCanWriteService(principal: Principal, name: string): void {
  if (!canWriteService(principal, name)) throw serviceWriteForbidden(principal, name);
}

function serviceWriteForbidden(principal: Principal, name: string): SwitchboardError {
  return new SwitchboardError(
    'FORBIDDEN',
    `Token "${principal.name}" may not change service "${name}"${principal.servicePrefix === null ? '' : ` (it is limited to names starting "${principal.servicePrefix}")`}.`,
  );
}

export function canWriteKey(principal: Principal, key: string): boolean {
  return hasScope(principal, 'WRITE') && (principal.keyPrefix === null || key.startsWith(principal.keyPrefix));
}

export function assertCanWriteKey(principal: Principal, key: string): void {
  if (!canWriteKey(principal, key)) throw keyWriteForbidden(principal, `configuration key "${key}"`);
}

/**
 * May `principal` change every key under `prefix` at once (a recursive delete)? Only when its
 * own prefix covers the whole tree: "team-a/" may delete "team-a/x/", never "" or "team".
 */
export function assertCanWriteKeyTree(principal: Principal, prefix: string): void {
  if (!canWriteKey(principal, prefix)) throw keyWriteForbidden(principal, prefix === '' ? 'every configuration key' : `the keys under "${prefix}"`);
}

function keyWriteForbidden(principal: Principal, what: string): SwitchboardError {
  return new SwitchboardError(
    'FORBIDDEN',
    `Token "${principal.name}" may not change ${what}${principal.keyPrefix === null ? '' : ` (it is limited to keys starting "${principal.keyPrefix}")`}.`,
  );
}

export function assertHasScope(principal: Principal, scope: Scope, action: string): void {
  if (!hasScope(principal, scope)) {
    throw new SwitchboardError('FORBIDDEN', `Token "${principal.name}" may not ${action}: that needs the ${scope} scope.`, { scope });
  }
}

/** Script checks run commands on the registry host: ADMIN only, besides the operator's opt-in. */
export function assertMayAddChecks(principal: Principal, checks: readonly { script?: unknown }[]): void {
  if (checks.some((check) => check.script != null) && !hasScope(principal, 'ADMIN')) {
    throw new SwitchboardError('FORBIDDEN', 'Script checks need an ADMIN token: they run commands on the registry host.', { scope: 'ADMIN' });
  }
}

/**
 * A component belongs to its id, under the token's service prefix: components are the parts
 * services are built from, and a team's prefix names both.
 */
export function assertMayChangeComponent(principal: Principal, id: string): void {
  if (canWriteService(principal, id)) return;
  throw new SwitchboardError(
    'FORBIDDEN',
    `Token "${principal.name}" may not change component "${id}"${principal.servicePrefix === null ? '' : ` (it is limited to ids starting "${principal.servicePrefix}")`}.`,
  );
}

/** What an alert rule watches, which decides who owns it. */
export interface WatchedTargets {
  service: string | null;
  keyPrefix: string | null;
}

/**
 * An alert rule belongs to what it watches: its service (under the token's service prefix)
 * or its key prefix (under the token's key prefix). A rule watching neither (any service,
 * any event) is ADMIN's: it sees, and pages about, every team.
 */
export function assertMayChangeRule(principal: Principal, rule: WatchedTargets, name: string): void {
  if (rule.service !== null) {
    if (canWriteService(principal, rule.service)) return;
    throw new SwitchboardError(
      'FORBIDDEN',
      `Token "${principal.name}" may not change alert rule "${name}": it watches service "${rule.service}"${principal.servicePrefix === null ? '' : `, outside names starting "${principal.servicePrefix}"`}.`,
    );
  }
  if (rule.keyPrefix !== null) {
    if (canWriteKey(principal, rule.keyPrefix)) return;
    throw new SwitchboardError(
      'FORBIDDEN',
      `Token "${principal.name}" may not change alert rule "${name}": it watches keys under "${rule.keyPrefix}"${principal.keyPrefix === null ? '' : `, outside keys starting "${principal.keyPrefix}"`}.`,
    );
  }
  if (!hasScope(principal, 'ADMIN')) {
    throw new SwitchboardError(
      'FORBIDDEN',
      `Token "${principal.name}" may not change alert rule "${name}": a rule that watches no one service or key prefix needs an ADMIN token.`,
    );
  }
}

/** Secret values are for those who may write the key. */
export const canReadSecret = canWriteKey;

/** What decides who may change an instance: its name (a token's service prefix) and where it comes from. */
export interface InstanceOwnership {
  id: string;
  name: string;
  /** The source it is followed from; null: registered here. */
  source: string | null;
}

/**
 * May `principal` change `instance` (as its row is now)? Called by domain writes under the
 * instance's row lock, in their own transaction: who owns an id is stored state, and a check
 * made before the write, in another transaction, lets two tokens both take a new id at once.
 * Internal writes (a worker, a sweep) pass SYSTEM_PRINCIPAL.
 */
export function assertMayChangeInstance(principal: Principal, instance: InstanceOwnership): void {
  const refusal = instanceChangeRefusal(principal, instance);
  if (refusal) throw refusal;
}

/**
 * assertMayChangeInstance's answer as a value (FORBIDDEN, or undefined), for a batch that refuses one entry and writes the others.
 * An instance followed from a source is that source's alone, whoever asks (ADMIN and the registry's own work too):
 * a change made here would be undone by the source's next set, or would hide what the source says. And a source's
 * follower writes only its own: an id registered here or by another source is a collision, never taken over.
 */
export function instanceChangeRefusal(principal: Principal, instance: InstanceOwnership): SwitchboardError | undefined {
  if (instance.source !== null && principal.source !== instance.source) {
    return new SwitchboardError(
      'FORBIDDEN',
      `Instance "${instance.id}" of service "${instance.name}" is followed from source "${instance.source}" (SWITCHBOARD_SOURCES) and is read-only here: change it in ${instance.source}.`,
      { source: instance.source },
    );
  }
  if (principal.source !== undefined && instance.source !== principal.source) {
    const holder = instance.source === null ? 'registered here' : `followed from source "${instance.source}"`;
    return new SwitchboardError(
      'FORBIDDEN',
      `Source "${principal.source}" may not change instance "${instance.id}" of service "${instance.name}": that id is ${holder}.`,
      {
        source: principal.source,
      },
    );
  }
  return serviceNameRefusal(principal, instance.name);
}

/**
 * The service-prefix rule alone, for what does not change the instance itself: a call outcome
 * reported for its breaker (a source's instances have breakers like any other).
 */
export function serviceNameRefusal(principal: Principal, name: string): SwitchboardError | undefined {
  return canWriteService(principal, name) ? undefined : serviceWriteForbidden(principal, name);
}
