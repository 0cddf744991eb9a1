/**
 * A service name's state, one of four, decided in this order (the first that holds wins):
 *
 * - DOWN: no instance is passing (maintenance and warning do not count as passing), or the
 *   service has a policy with minInstances >= 1 and no instance at all.
 * - HEALING: some instance is critical now, or recovering: an instance of the service was
 *   critical within the window, or was removed by deregisterCriticalServiceAfter within it.
 * - SCALING: the instance count changed within the window (an instance registered or
 *   removed), or it is outside the service's policy (minInstances / maxInstances).
 * - ACTIVE: none of the above.
 *
 * The window is SWITCHBOARD_STATE_WINDOW (default 5m) unless a query names its own.
 */
export type ServiceState = 'ACTIVE' | 'SCALING' | 'HEALING' | 'DOWN';

export const SERVICE_STATES: readonly ServiceState[] = ['ACTIVE', 'SCALING', 'HEALING', 'DOWN'];

/** The definitions as people read them (API descriptions, the dashboard's hover text). */
export const SERVICE_STATE_DEFINITIONS: Record<ServiceState, string> = {
  DOWN: 'No passing instance (or none at all while its policy asks for at least one).',
  HEALING: 'Some instance is critical, or was critical within the window, or was removed within it for staying critical (deregisterCriticalServiceAfter).',
  SCALING: "Its instance count changed within the window, or is outside the service's minInstances/maxInstances policy.",
  ACTIVE: 'Passing instances, none critical, and no change to their number within the window.',
};

/** How many instances a service should have; either bound may be absent. */
export interface ServicePolicy {
  service: string;
  minInstances: number | null;
  maxInstances: number | null;
  updatedAt: Date;
}

/** What happened to one service within the window, from the event log. */
export interface ServiceActivity {
  /** Newest moment an instance was seen critical (a transition to or from CRITICAL, or the removal of a critical one). */
  criticalAt: number | null;
  /** Instances that were critical within the window (some may still be, or be gone). */
  criticalIds: readonly string[];
  /** Newest removal by deregisterCriticalServiceAfter, and how many there were. */
  reapedAt: number | null;
  reaped: number;
  /** Newest registration of a new instance or removal of one, and how many of each. */
  countChangedAt: number | null;
  added: number;
  removed: number;
}

/** One instance as the states need it: its status as discovery sees it. */
export interface InstanceHealth {
  id: string;
  status: 'PASSING' | 'WARNING' | 'CRITICAL';
}

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  /** Why, as sentences; the reason that decided the state comes first. Empty when ACTIVE. */
  reasons: string[];
  instances: number;
  passing: number;
  warning: number;
  critical: number;
  minInstances: number | null;
  maxInstances: number | null;
  /** When the state changes with time alone (a change leaving the window); null: only a new change can move it. */
  until: Date | null;
}

export interface ServiceStateCounts {
  active: number;
  scaling: number;
  healing: number;
  down: number;
}

export interface ServiceStateReport {
  counts: ServiceStateCounts;
  services: ServiceStatus[];
  windowMs: number;
  /** The moment the report describes (the database's clock, which event times use too). */
  computedAt: Date;
}
