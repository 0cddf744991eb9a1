/** API tokens: scoped, prefix-limited, expiring, revocable; stored as hashes. */
export { createToken, revokeToken, listTokens, findActiveToken, hashSecret, TokenEventType, type TokenInput } from './tokens.js';
export type { TokenRow as Token } from '../../db/schema.js';
