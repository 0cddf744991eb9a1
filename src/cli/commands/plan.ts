import type { Command } from 'commander';

/** A manifest against the live registry: plan, apply. */
export function registerPlanCommands(_program: Command): void {}
