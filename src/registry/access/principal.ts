import { SwitchboardError, type EventActor, type TokenScopeValue } from '@switchboard/contracts';
import type { Token } from '../tokens/model.js';

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

/** Whoever presents SWITCHBOARD_ADMIN_TOKEN. */
export const ADMIN_PRINCIPAL: Principal = { id: 'admin', name: 'admin', scopes: ALL_SCOPES, servicePrefix: null, keyPrefix: null, expiresAt: null };

export function principalFromToken(token: Token): Principal {
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
  if (!canWriteKey(principal, key)) {
    throw new SwitchboardError(
      'FORBIDDEN',
      `Token "${principal.name}" may not change configuration key "${key}"${principal.keyPrefix === null ? '' : ` (it is limited to keys starting "${principal.keyPrefix}")`}.`,
    );
  }
}

/** Secret values are for those who may write the key. */
export const canReadSecret = canWriteKey;

/**
 * May `principal` change the instance now named `name`? Called by domain writes under the
 * instance's row lock, in their own transaction: who owns an id is stored state, and a check
 * made before the write, in another transaction, lets two tokens both take a new id at once.
 * No principal: an internal write (a worker, a sweep), always allowed.
 */
export function assertMayChangeInstance(principal: Principal | undefined, name: string): void {
  const refusal = instanceChangeRefusal(principal, name);
  if (refusal) throw refusal;
}

/** assertMayChangeInstance's answer as a value (FORBIDDEN, or undefined), for a batch that refuses one entry and writes the others. */
export function instanceChangeRefusal(principal: Principal | undefined, name: string): SwitchboardError | undefined {
  return principal && !canWriteService(principal, name) ? serviceWriteForbidden(principal, name) : undefined;
}
