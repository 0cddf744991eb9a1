/** Circuit breakers fed by reported call outcomes, shared through PostgreSQL. */
export { OutcomeReporter } from './reporter.js';
export { getBreakers, view, applyOutcomes, type CircuitBreakerView } from './store.js';
export type { BreakerConfig, BreakerState, CircuitState, Outcome } from './machine.js';
export { watchCircuitChanges, type CircuitChange } from './changes.js';
export { recordDueHalfOpens, HALF_OPEN_BATCH } from './half-open.js';
