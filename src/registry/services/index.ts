/** The services catalog: register, renew, discover, expire, reap. */
export { registerService } from './register.js';
export { registerServices, MAX_REGISTRATIONS_PER_CALL } from './register-many.js';
export { RegistrationWriter } from './registrations.js';
export { unregisterService } from './unregister.js';
export { heartbeat } from './heartbeat.js';
export { HeartbeatWriter } from './heartbeats.js';
export { renewSessionLeases, renewalIntervalMs, sessionFingerprint, SessionLimits, type SessionBinding } from './ephemeral.js';
export { updateWeight } from './weight.js';
export { getServicesByIds, getLeases, type DiscoverQuery, type Lease, type ServiceSummary } from './discover.js';
export { expireLapsedServices, SWEEP_BATCH, type LapsedInstance, type SweepOptions } from './expire.js';
export { reapCriticalServices, REAP_BATCH } from './reap.js';
export { instanceHealth, type HealthStatus, type HealthStatusType, type Endpoint } from './model.js';
export type { ServiceInstance } from '../instances/model.js';
export { toServiceChange, watchServiceChanges, SERVICE_EVENT_TYPES, type ServiceChange, type ServiceChangeKind } from './changes.js';
export { hostPort } from '../../net.js';
export { watchInstanceChanges, isServiceChange, MAX_WATCHED_SERVICES, type InstanceChange, type InstancesWatch } from './instance-changes.js';
