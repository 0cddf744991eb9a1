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

/**
 * May `principal` change the instance now named `name`? Called by domain writes under the
 * instance's row lock, in their own transaction: who owns an id is stored state, and a check
 * made before the write, in another transaction, lets two tokens both take a new id at once.
 * Internal writes (a worker, a sweep) pass SYSTEM_PRINCIPAL.
 */
export function assertMayChangeInstance(principal: Principal, name: string): void {
  const refusal = instanceChangeRefusal(principal, name);
  if (refusal) throw refusal;
}

/** assertMayChangeInstance's answer as a value (FORBIDDEN, or undefined), for a batch that refuses one entry and writes the others. */
export function instanceChangeRefusal(principal: Principal, name: string): SwitchboardError | undefined {
  return canWriteService(principal, name) ? undefined : serviceWriteForbidden(principal, name);
}
