import { service, start } from '@switchboard/sdk';

/**
 * A `@service` with a name chosen at run time. Loaded through tsx: Vitest's transformer does not lower
 * standard decorators.
 */
export function plainService(name: string) {
  @service({ name, version: '1.0.0', port: 9 })
  class Plain {}
  return Plain;
}

// This module's own copy of the SDK holds the declarations its decorators made.
export { start };
