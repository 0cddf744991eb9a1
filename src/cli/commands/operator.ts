import type { Command } from 'commander';

/** Operator commands over @switchboard/client: services, discover, register, config, events… */
export function registerOperatorCommands(_program: Command): void {}
