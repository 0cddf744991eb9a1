export { EtcdRegistry } from './etcd-registry.js';
export { DEFAULTS, type EtcdRegistryOptions } from './options.js';
// The value layout, for tools that read or write instances beside the SDK.
export {
  decodeInstance,
  encodeInstance,
  hostPort,
  instanceKey,
  parseInstanceKey,
  splitAddr,
  type InstanceRecord,
  type HealthRecord,
} from './instance-record.js';
