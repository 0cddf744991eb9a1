/**
 * An object as the API server sent it (raw JSON: timestamps are strings), known to have a name. Everything
 * else in it is read with `recordOf`/`textOf`, so a malformed field is skipped rather than thrown on.
 */
export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: unknown;
    annotations?: unknown;
    creationTimestamp?: unknown;
  };
  [field: string]: unknown;
}

export function recordOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A non-empty string, or undefined. */
export function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Whether a listed or watched item is an object with a name: anything else cannot even be cached. */
export function isNamedObject(value: unknown): value is KubeObject {
  return typeof recordOf(recordOf(value)?.['metadata'])?.['name'] === 'string';
}
