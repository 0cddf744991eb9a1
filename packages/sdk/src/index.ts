// Registry: the seed's interface, implemented over a Switchboard server.
export type * from './registry/registry.js';
export { SwitchboardRegistry, type SwitchboardRegistryOptions } from './registry/switchboard-registry.js';
export { MultiRegistry, MultiRegistryError, type BackendFailure, type MultiRegistryOptions, type MultiStrategy } from './registry/multi-registry.js';
// Dynamic flow composition: the server's answer on SwitchboardRegistry, the same algorithm over any other registry.
export { composeFlow, composeFlowLocally, type Composition } from './registry/compose.js';
// For other backends (@switchboard/etcd, consul, kubernetes): the same checks before anything is sent.
export { toMilliseconds, validateComponent, validateConfig, validateHealthCheck, validateServiceDefinition } from './registry/validate.js';
// @service: standard decorators and the start-up flow.
export { config, dependency, describeService, service } from './service/decorators.js';
export {
  ServiceDeclarationError,
  type DependencyDeclaration,
  type InjectedField,
  type ServiceDeclaration,
  type ServiceOptions,
} from './service/declaration.js';
export { start, type DependencyCallOptions, type RunningService, type StartOptions } from './service/start.js';
// @component, and the registry `switchboard generate` writes (start() declares from it once it is imported).
export { component, ComponentDeclarationError, describeComponent, type ComponentDeclaration, type ComponentOptions } from './service/component.js';
export {
  clearGeneratedRegistry,
  generatedRegistry,
  useGeneratedRegistry,
  type GeneratedComponent,
  type GeneratedRegistry,
  type GeneratedService,
} from './service/generated.js';

// Discovery and balancing: a push-fed cache of instances, and per-call selection over it.
export * from './discovery/index.js';
export * from './balancer/index.js';

// Calling a dependency: breakers, outlier ejection, retries, timeouts, outcome reports (resilience/).
export type { InstancePicker, PickedInstance, PickOptions } from './resilience/picker.js';
export { DiscoveryPicker, discoveryPicker, type DiscoveryPickerOptions } from './resilience/discovery-picker.js';
export { CircuitBreakerRegistry, type CircuitBreakerOptions, type CallOutcome } from './resilience/breakers.js';
export { OutlierDetector, type OutlierOptions } from './resilience/outliers.js';
export { OutcomeReporter, type OutcomeReporterOptions } from './resilience/outcome-reporter.js';
export { RetryBudget, type RetryBudgetOptions } from './resilience/retry-budget.js';
export { callRetryPolicy, registrationRetryPolicy, type CallRetryOptions } from './resilience/retry.js';
export { ServiceClient, type ServiceClientOptions, type CallOptions } from './resilience/service-client.js';
export { InFlightCalls } from './resilience/in-flight.js';
export { ServiceResponseError, UpstreamStatusError } from './resilience/errors.js';
