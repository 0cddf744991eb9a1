export { KubernetesRegistry } from './kubernetes-registry.js';
export type { KubernetesRegistryOptions } from './options.js';
export { ANNOTATIONS, SERVICE_NAME_LABEL, VERSION_LABEL } from './instances.js';
