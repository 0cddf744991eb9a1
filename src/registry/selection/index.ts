/** Load-balancer selection: one instance per question, with the reasoning on request. */
export { selectInstance, type Selection, type SelectionQuery, type SelectionOptions, type CandidateExplanation } from './select.js';
export { RoundRobin, type Strategy } from './strategies.js';
export type { ExclusionReason } from './candidates.js';
export { SelectionState } from './state.js';
export { HalfOpenMemo } from './half-open-memo.js';
