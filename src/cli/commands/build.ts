import type { Command } from 'commander';

/** Build-time commands: scan, check, generate. */
export function registerBuildCommands(_program: Command): void {}
