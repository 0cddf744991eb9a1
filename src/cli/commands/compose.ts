import type { Command } from 'commander';

/** switchboard compose <flow>. */
export function registerComposeCommand(_program: Command): void {}
