// Registry: the seed's interface, implemented over a Switchboard server.
export type * from './registry/registry.js';
export { SwitchboardRegistry, type SwitchboardRegistryOptions } from './registry/switchboard-registry.js';
// @service: standard decorators and the start-up flow.
export { config, dependency, describeService, service } from './service/decorators.js';
export {
  ServiceDeclarationError,
  type DependencyDeclaration,
  type InjectedField,
  type ServiceDeclaration,
  type ServiceOptions,
} from './service/declaration.js';
export { start, type DependencyClient, type RunningService, type StartOptions } from './service/start.js';
