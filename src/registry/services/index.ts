/** The services catalog: register, renew, discover, expire. */
export { registerService } from './register.js';
export { RegistrationWriter } from './registrations.js';
export { unregisterService } from './unregister.js';
export { heartbeat } from './heartbeat.js';
export { updateWeight } from './weight.js';
export { getServicesByIds, getLeases, type DiscoverQuery, type Lease, type ServiceSummary } from './discover.js';
export { expireLapsedServices, SWEEP_BATCH } from './expire.js';
export { instanceHealth, type HealthStatus, type HealthStatusType, type ServiceInstance, type Endpoint } from './model.js';
export { toServiceChange, watchServiceChanges, SERVICE_EVENT_TYPES, type ServiceChange, type ServiceChangeKind, type ServiceWatch } from './changes.js';
export { hostPort } from '../../net.js';
