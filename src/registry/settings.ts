import type { BreakerConfig } from './breakers/machine.js';
import type { ConfigWriteOptions } from './config/index.js';
import type { HealthOptions } from './health/index.js';

/** The domain's settings, read once from the environment at start-up. */
export interface RegistrySettings {
  config: ConfigWriteOptions;
  health: HealthOptions;
  breaker: BreakerConfig;
  /** Service states: the window a query uses when it names none. */
  states: { windowMs: number };
}
