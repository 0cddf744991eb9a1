// @switchboard/consul: the Registry over Consul's HTTP API.
export { ConsulRegistry } from './consul-registry.js';
export type { ConsulRegistryOptions } from './options.js';
export { MetaKey } from './meta.js';
