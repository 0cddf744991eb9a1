// Registry: the seed's interface, implemented over a Switchboard server.
export type * from './registry/registry.js';
export { SwitchboardRegistry, type SwitchboardRegistryOptions } from './registry/switchboard-registry.js';
