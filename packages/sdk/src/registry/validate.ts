import {
  badInput,
  checkSchema,
  componentSchema,
  formatDuration,
  parseDuration,
  parseInput,
  serviceDefinitionSchema,
  validateKey,
  validateValue,
  type HealthCheckInput,
} from '@switchboard/contracts';
import type { Component, Duration, HealthCheck, ServiceDefinition } from './registry.js';

/**
 * Checks what is about to be sent with the server's own rules (the contracts' schemas, the same `parseInput`),
 * so a bad definition fails here with the very issues the server would answer, and no request is made.
 */

/** The server's names for the domain's millisecond fields, as `parseInput` reports them. */
const CHECK_FIELD_NAMES = { ttlMs: 'ttl', intervalMs: 'interval', timeoutMs: 'timeout', deregisterCriticalAfterMs: 'deregisterCriticalServiceAfter' };

export function validateServiceDefinition(definition: ServiceDefinition): void {
  const { ttl, healthCheck, ...rest } = definition;
  parseInput(serviceDefinitionSchema, { ...rest, ttlMs: milliseconds(ttl, 'ttl') }, 'service definition', { ttlMs: 'ttl' });
  if (healthCheck) validateHealthCheck(healthCheck);
}

export function validateHealthCheck(check: HealthCheck): void {
  parseInput(checkSchema, toCheckInput(check), 'health check', CHECK_FIELD_NAMES);
}

export function validateComponent(component: Component): void {
  parseInput(componentSchema, component, 'component');
}

export function validateConfig(key: string, value: unknown): void {
  validateKey(key);
  validateValue(value);
}

/** A duration as the wire writes it ("30s"); strings go as given, the server's scalar reads them. */
export function wireDuration(duration: Duration | null | undefined): string | null | undefined {
  return typeof duration === 'number' ? formatDuration(duration) : duration;
}

function toCheckInput(check: HealthCheck): HealthCheckInput {
  const { ttl, interval, timeout, deregisterCriticalServiceAfter, ...rest } = check;
  return {
    ...rest,
    ttlMs: milliseconds(ttl, 'ttl'),
    intervalMs: milliseconds(interval, 'interval'),
    timeoutMs: milliseconds(timeout, 'timeout'),
    deregisterCriticalAfterMs: milliseconds(deregisterCriticalServiceAfter, 'deregisterCriticalServiceAfter'),
  };
}

/** A Duration as milliseconds; a string that is not one fails as BAD_USER_INPUT naming `field`. */
export function toMilliseconds(duration: Duration | null | undefined, field = 'duration'): number | null | undefined {
  return milliseconds(duration, field);
}

function milliseconds(duration: Duration | null | undefined, field: string): number | null | undefined {
  if (typeof duration !== 'string') return duration;
  const ms = parseDuration(duration);
  if (ms === undefined) {
    const message = `must be a duration like "250ms", "30s", "5m" or "1h30m"; got ${JSON.stringify(duration.slice(0, 80))}`;
    throw badInput(`Invalid ${field}: ${message}.`, { issues: [{ field, message }] });
  }
  return ms;
}
