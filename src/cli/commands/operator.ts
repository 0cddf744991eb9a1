import type { Command } from 'commander';
import { registerAlertsCommand } from '../operator/alerts.js';
import { registerComponentCommands } from '../operator/components.js';
import { registerConfigCommands } from '../operator/config.js';
import { registerEventCommands } from '../operator/events.js';
import { registerHealthCommand } from '../operator/health.js';
import { registerRegistrationCommands } from '../operator/register.js';
import { registerSelectCommand } from '../operator/select.js';
import { registerServiceCommands } from '../operator/services.js';
import { registerStatesCommand } from '../operator/states.js';
import { registerTokenCommands } from '../operator/tokens.js';

/** Operator commands over @switchboard/client: services, discover, register, config, events… (docs/cli.md). */
export function registerOperatorCommands(program: Command): void {
  registerServiceCommands(program);
  registerRegistrationCommands(program);
  registerHealthCommand(program);
  registerSelectCommand(program);
  registerConfigCommands(program);
  registerComponentCommands(program);
  registerEventCommands(program);
  registerStatesCommand(program);
  registerTokenCommands(program);
  registerAlertsCommand(program);
}
