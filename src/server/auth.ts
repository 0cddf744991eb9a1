import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The admin-token gate: with a token configured, every GraphQL request must
 * present it. Compared as SHA-256 digests with timingSafeEqual, so neither the
 * token's length nor its prefix leaks through response timing.
 */
export class TokenGate {
  private readonly expected: Buffer | undefined;

  constructor(token: string | undefined) {
    this.expected = token === undefined ? undefined : digest(token);
  }

  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /** Accepts "Bearer <token>" (the HTTP header form) or the bare token. */
  allows(credential: unknown): boolean {
    if (!this.expected) return true;
    if (typeof credential !== 'string' || credential.length > 4096) return false;
    const token = credential.replace(/^Bearer\s+/i, '');
    return timingSafeEqual(digest(token), this.expected);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
