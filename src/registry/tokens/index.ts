/** API tokens: scoped, prefix-limited, expiring, revocable; stored as hashes. */
export { createToken, revokeToken, listTokens, findActiveToken, hashSecret, type TokenInput } from './tokens.js';
export type { Token } from './model.js';
