import { parseDuration } from '@switchboard/contracts';
import { ConsulError } from './errors.js';

/** "ServiceID", "serviceId", "service_id" and "SERVICEID" all name one field. */
const normalise = (key: string) => key.replace(/_/g, '').toLowerCase();

/**
 * A JSON object from a request body, read the way Consul reads it: keys match whatever
 * their case (python-consul sends `name`, `id`, `check`), snake_case aliases too, and keys
 * nobody asks for are ignored. Only the object's own keys are matched this way; the maps
 * inside it (Meta, Header) keep their keys as sent.
 */
export class JsonFields {
  private readonly byKey = new Map<string, unknown>();

  private constructor(
    value: Record<string, unknown>,
    /** Where the object sits ("service", "service.Check"), for error messages. */
    readonly path: string,
  ) {
    for (const [key, item] of Object.entries(value)) this.byKey.set(normalise(key), item);
  }

  /** `value` as an object; 400 when it is something else (or absent, unless `optional`). */
  static of(value: unknown, path: string): JsonFields {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ConsulError(400, `Request decode failed: ${path} must be a JSON object.`);
    }
    return new JsonFields(value as Record<string, unknown>, path);
  }

  /** The first of `names` present (not null); undefined otherwise. */
  get(...names: string[]): unknown {
    for (const name of names) {
      const value = this.byKey.get(normalise(name));
      if (value !== undefined && value !== null) return value;
    }
    return undefined;
  }

  has(...names: string[]): boolean {
    return this.get(...names) !== undefined;
  }

  string(name: string, ...aliases: string[]): string | undefined {
    const value = this.get(name, ...aliases);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.invalid(name, 'a string');
    return value;
  }

  /** A string that may be empty in Consul's JSON and means "not set" then. */
  nonEmpty(name: string, ...aliases: string[]): string | undefined {
    const value = this.string(name, ...aliases);
    return value === '' ? undefined : value;
  }

  integer(name: string, ...aliases: string[]): number | undefined {
    const value = this.get(name, ...aliases);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.invalid(name, 'an integer');
    return value;
  }

  boolean(name: string, ...aliases: string[]): boolean | undefined {
    const value = this.get(name, ...aliases);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw this.invalid(name, 'true or false');
    return value;
  }

  strings(name: string, ...aliases: string[]): string[] | undefined {
    const value = this.get(name, ...aliases);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw this.invalid(name, 'a list of strings');
    return value as string[];
  }

  object(name: string, ...aliases: string[]): JsonFields | undefined {
    const value = this.get(name, ...aliases);
    return value === undefined ? undefined : JsonFields.of(value, `${this.path}.${name}`);
  }

  list(name: string, ...aliases: string[]): JsonFields[] | undefined {
    const value = this.get(name, ...aliases);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.invalid(name, 'a list');
    return value.map((item, index) => JsonFields.of(item, `${this.path}.${name}[${index}]`));
  }

  /**
   * A duration as Consul takes it: a Go duration string ("10s", "1m30s") or a number of
   * nanoseconds. Milliseconds; undefined when absent or "" (Consul's "not set").
   */
  duration(name: string, ...aliases: string[]): number | undefined {
    const value = this.get(name, ...aliases);
    if (value === undefined || value === '') return undefined;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value / 1e6;
    if (typeof value === 'string') {
      const ms = parseDuration(value);
      if (ms !== undefined && ms >= 0) return ms;
    }
    throw this.invalid(name, 'a duration such as "10s" or "1m30s"');
  }

  private invalid(name: string, what: string): ConsulError {
    return new ConsulError(400, `Request decode failed: ${this.path}.${name} must be ${what}.`);
  }
}
