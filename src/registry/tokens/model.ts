import type { EventActor, TokenScopeValue } from '@switchboard/contracts';

/** An API token, as the domain hands it out: not its secret (shown once, at creation) nor the secret's hash. */
export interface Token {
  id: string;
  name: string;
  scopes: TokenScopeValue[];
  /** Service names this token may write (null: any). */
  servicePrefix: string | null;
  /** Configuration keys this token may write, and read when secret (null: any). */
  keyPrefix: string | null;
  createdAt: Date;
  /** Who created it; null when created by the registry itself. */
  createdBy: EventActor | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}
