import { HalfOpenMemo } from './half-open-memo.js';
import { RoundRobin } from './strategies.js';

/**
 * What selection remembers between questions, per process: round-robin positions
 * and half-open instances with no probe left. Nothing another server needs, so it
 * lives in memory; both parts are bounded.
 */
export class SelectionState {
  constructor(
    readonly roundRobin: RoundRobin = new RoundRobin(),
    readonly halfOpenBusy: HalfOpenMemo = new HalfOpenMemo(),
  ) {}
}
