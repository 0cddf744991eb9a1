export { ServiceDiscovery, type ServiceDiscoveryOptions, type LookupOptions } from './service-discovery.js';
export { DiscoveryError, type DiscoveryErrorCode } from './errors.js';
export type { DiscoveredInstance, Discovery, InstanceFilter } from './types.js';
