import type { CheckStatusValue, EndpointRecord } from '@switchboard/contracts';

/** A registered service instance, as the domain hands it out. */
export interface ServiceInstance {
  id: string;
  name: string;
  /** Null: registered without one; such an instance matches no version range. */
  version: string | null;
  address: string;
  /** Null: registered without one; discovery still returns it, its caller decides the port. */
  port: number | null;
  tags: string[];
  metadata: Record<string, string>;
  endpoints: EndpointRecord[];
  protocols: string[];
  weight: number;
  priority: number;
  /** Lease length; an instance with a TTL expires unless heartbeats renew it. */
  ttlMs: number | null;
  registeredAt: Date;
  updatedAt: Date;
  lastHeartbeatAt: Date | null;
  expiresAt: Date | null;
  /** Worst status of the instance's health checks (PASSING with none). */
  checkStatus: CheckStatusValue;
  /** Maintenance takes the instance out of passing discovery without deregistering it. */
  maintenanceReason: string | null;
  maintenanceSince: Date | null;
  /** The external registry it is followed from (SWITCHBOARD_SOURCES), read-only here; null: registered here. */
  source: string | null;
}
