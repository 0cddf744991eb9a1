/** Who may do what: principals, scopes and prefix rules. */
export * from './principal.js';
