import type { CheckKindValue, CheckStatusValue, CheckTarget } from '@switchboard/contracts';

export type CheckStatus = CheckStatusValue;
export type CheckKind = CheckKindValue;

/** A health check of an instance: its definition, its current status and its schedule. */
export interface HealthCheck {
  id: string;
  serviceId: string;
  name: string;
  kind: CheckKind;
  target: CheckTarget;
  intervalMs: number;
  timeoutMs: number;
  /** TTL checks: how long an update stays valid. */
  ttlMs: number | null;
  successBeforePassing: number;
  failuresBeforeCritical: number;
  deregisterCriticalAfterMs: number | null;
  status: CheckStatus;
  output: string;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  checkCount: number;
  failureCount: number;
  lastCheckAt: Date | null;
  statusChangedAt: Date;
  /** Set while critical: deregisterCriticalServiceAfter counts from here. */
  criticalSince: Date | null;
  /** Next probe (for TTL checks: when the last update lapses). */
  nextRunAt: Date;
  /** The worker that claimed the check, and until when the claim holds. */
  lockedBy: string | null;
  lockedUntil: Date | null;
  createdAt: Date;
}

/** One status change of an instance's check, or a maintenance switch. */
export interface HealthTransition {
  id: number;
  serviceId: string;
  /** Null for a maintenance switch. */
  checkId: string | null;
  checkName: string | null;
  /** Null when the check is new (from) or was removed (to); for maintenance, the instance's status. */
  fromStatus: CheckStatus | null;
  toStatus: CheckStatus | null;
  output: string;
  instanceStatus: CheckStatus;
  at: Date;
}

/** What one probe found. */
export interface ProbeResult {
  status: CheckStatus;
  output: string;
}

const SEVERITY: Record<CheckStatus, number> = { PASSING: 0, WARNING: 1, CRITICAL: 2 };

/** Worst wins: true when `status` is worse than `than` (CRITICAL over WARNING over PASSING). */
export function isWorse(status: CheckStatus, than: CheckStatus): boolean {
  return SEVERITY[status] > SEVERITY[than];
}

/** The worst of `statuses`; PASSING for none (an instance without checks). */
export function worstStatus(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'PASSING';
  for (const status of statuses) if (isWorse(status, worst)) worst = status;
  return worst;
}

/** The status discovery acts on: maintenance overrides the checks. */
export function effectiveStatus(instance: { checkStatus: CheckStatus; maintenanceSince: Date | null }): CheckStatus {
  return instance.maintenanceSince ? 'CRITICAL' : instance.checkStatus;
}

/** Outputs are shown to people and stored per run: keep them to 4 KiB, as Consul does. */
export const OUTPUT_LIMIT = 4096;

export function capOutput(output: string): string {
  if (output.length <= OUTPUT_LIMIT) return output;
  return `${output.slice(0, OUTPUT_LIMIT - 16)} … (truncated)`;
}

export interface CheckState {
  status: CheckStatus;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  successBeforePassing: number;
  failuresBeforeCritical: number;
}

export interface Evaluation {
  status: CheckStatus;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  changed: boolean;
}

/**
 * Consul's hysteresis: a passing result counts towards `successBeforePassing`
 * consecutive passes before the check turns passing; a warning or critical result
 * counts towards `failuresBeforeCritical` before the check takes that status.
 * Thresholds of 0 (the default) switch at once.
 */
export function evaluate(state: CheckState, result: ProbeResult): Evaluation {
  if (result.status === 'PASSING') {
    const consecutiveSuccesses = state.consecutiveSuccesses + 1;
    const status = consecutiveSuccesses >= state.successBeforePassing ? 'PASSING' : state.status;
    return { status, consecutiveSuccesses, consecutiveFailures: 0, changed: status !== state.status };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  const status = consecutiveFailures >= state.failuresBeforeCritical ? result.status : state.status;
  return { status, consecutiveSuccesses: 0, consecutiveFailures, changed: status !== state.status };
}
