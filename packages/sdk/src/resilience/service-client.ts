import { BrokenCircuitError, TaskCancelledError, TimeoutStrategy, timeout, type RetryPolicy, type TimeoutPolicy } from 'cockatiel';
import { CircuitBreakerRegistry } from './breakers.js';
import { ServiceResponseError, UpstreamStatusError } from './errors.js';
import type { InFlightCalls } from './in-flight.js';
import type { OutcomeReporter } from './outcome-reporter.js';
import type { InstancePicker, PickedInstance } from './picker.js';
import { RetryBudget } from './retry-budget.js';
import { callRetryPolicy, type CallRetryOptions } from './retry.js';

export interface ServiceClientOptions {
  /** The dependency's service name, for messages. */
  service: string;
  /** Chooses the instance for each attempt (the discovery cache's balancer). */
  picker: InstancePicker;
  /** Breakers and outlier ejection per instance; default a registry of its own. */
  breakers?: CircuitBreakerRegistry;
  /** Sends every call's outcome to the server's breakers. */
  reporter?: OutcomeReporter;
  retry?: CallRetryOptions;
  /** Default a budget of its own: 20% of requests plus 10 a second, over 10s. */
  budget?: RetryBudget;
  /** Longest wait for one attempt, body included; default 2s. */
  tryTimeoutMs?: number;
  /** Longest wait for the whole call, retries and backoff included; default 10s. */
  timeoutMs?: number;
  /** Default 'http'. */
  scheme?: 'http' | 'https';
  /** Default the global fetch. */
  fetch?: typeof fetch;
  /** Counts every call while it is under way, so that shutting down can wait for them (`start` passes one). */
  inFlight?: InFlightCalls;
}

export interface CallOptions {
  /** Sent to the picker: equal keys reach the same instance under consistent hashing. */
  hashKey?: string;
  headers?: Record<string, string>;
  /** Ends the call early (it is not held against the instance's breaker as a retry would be). */
  signal?: AbortSignal;
}

/** Methods whose retry cannot apply a change twice; others are retried only when nothing reached the instance. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

interface Attempt<T> {
  response: Response;
  body: T;
  instance: PickedInstance;
}

/**
 * Calls one dependency: each attempt asks the picker for an instance that is not behind an open breaker, not
 * ejected and not already tried by this call; runs it through the instance's breaker with a per-try timeout;
 * retries (exponential backoff with full jitter, within the retry budget) on another instance; bounds the
 * whole call by an overall timeout; and reports each attempt's outcome. What `start` injects into a
 * `@dependency` field.
 */
export class ServiceClient {
  readonly breakers: CircuitBreakerRegistry;
  readonly budget: RetryBudget;
  /** One retry policy per method: what may be retried depends on it. */
  private readonly retryPolicies = new Map<string, RetryPolicy>();
  private readonly tryTimeout: TimeoutPolicy;
  private readonly overallTimeout: TimeoutPolicy;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ServiceClientOptions) {
    this.breakers = options.breakers ?? new CircuitBreakerRegistry();
    this.budget = options.budget ?? new RetryBudget();
    this.fetch = options.fetch ?? globalThis.fetch;
    // Aggressive: the attempt ends at the deadline even if the instance never answers (its fetch is aborted).
    this.tryTimeout = timeout(options.tryTimeoutMs ?? 2000, TimeoutStrategy.Aggressive);
    this.overallTimeout = timeout(options.timeoutMs ?? 10_000, TimeoutStrategy.Aggressive);
    options.reporter?.attach(this.breakers);
  }

  /** The dependency's service name. */
  get service(): string {
    return this.options.service;
  }

  get<T = unknown>(path: string, options?: CallOptions): Promise<T> {
    return this.track(this.json<T>('GET', path, undefined, options));
  }

  post<T = unknown>(path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return this.track(this.json<T>('POST', path, body, options));
  }

  put<T = unknown>(path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return this.track(this.json<T>('PUT', path, body, options));
  }

  delete<T = unknown>(path: string, options?: CallOptions): Promise<T> {
    return this.track(this.json<T>('DELETE', path, undefined, options));
  }

  /**
   * Any request; resolves with the response of the attempt that got one below 500 (4xx included). Its body
   * is read by you, after the per-try timeout: bound it yourself if it may stream long.
   */
  request(path: string, init: RequestInit & { hashKey?: string } = {}): Promise<Response> {
    const { hashKey, ...requestInit } = init;
    return this.track(this.send(path, requestInit, hashKey, async () => undefined).then((attempt) => attempt.response));
  }

  /**
   * "http://host:port" of an instance to call now (no open breaker, not ejected, chosen by the balancer), plus
   * `path`, for callers with their own HTTP client. Synchronous: it reads what the picker holds (a started
   * service's dependencies are in the discovery cache), so the picker needs `pickNow`.
   */
  url(path = '', options: { hashKey?: string } = {}): string {
    const { picker } = this.options;
    if (!picker.pickNow) {
      throw new TypeError(
        `ServiceClient(${this.service}).url() needs a picker that can choose synchronously (pickNow), and this one cannot: ` +
          'give the ServiceClient a DiscoveryPicker (discoveryPicker()), or call picker.pick() and build the URL yourself.',
      );
    }
    return this.urlOf(picker.pickNow({ ...options, exclude: this.breakers.unavailable() }), path);
  }

  private track<T>(call: Promise<T>): Promise<T> {
    return this.options.inFlight ? this.options.inFlight.track(call) : call;
  }

  private async json<T>(method: string, path: string, body: unknown, options: CallOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const init: RequestInit = {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const attempt = await this.send(path, init, options.hashKey, readBody);
    if (!attempt.response.ok) throw new ServiceResponseError(attempt.response.status, attempt.body, attempt.instance.id);
    return attempt.body as T;
  }

  private send<T>(path: string, init: RequestInit, hashKey: string | undefined, read: (response: Response) => Promise<T>): Promise<Attempt<T>> {
    const method = (init.method ?? 'GET').toUpperCase();
    const tried = new Set<string>();
    this.budget.request();
    return this.overallTimeout.execute(
      ({ signal: callSignal }) =>
        this.retryPolicy(method).execute(async ({ signal: retrySignal }) => {
          const instance = await this.pick(tried, hashKey);
          tried.add(instance.id);
          try {
            return await this.breakers.execute(
              instance.id,
              (breakerSignal) =>
                this.tryTimeout.execute(async ({ signal }) => {
                  const response = await this.fetch(this.urlOf(instance, path), { ...init, method, signal });
                  if (response.status >= 500) throw new UpstreamStatusError(response.status, instance.id, await response.text().catch(() => ''));
                  return { response, body: await read(response), instance };
                }, breakerSignal),
              retrySignal,
            );
          } finally {
            instance.release?.();
          }
        }, callSignal),
      init.signal ?? undefined,
    );
  }

  /** Another instance than those this call tried; the same one again only when no other is left. */
  private async pick(tried: ReadonlySet<string>, hashKey: string | undefined): Promise<PickedInstance> {
    const unavailable = this.breakers.unavailable();
    const options = hashKey === undefined ? {} : { hashKey };
    if (tried.size === 0) return this.options.picker.pick({ ...options, exclude: unavailable });
    try {
      return await this.options.picker.pick({ ...options, exclude: new Set([...unavailable, ...tried]) });
    } catch {
      return this.options.picker.pick({ ...options, exclude: unavailable });
    }
  }

  private retryPolicy(method: string): RetryPolicy {
    let policy = this.retryPolicies.get(method);
    if (!policy) {
      policy = callRetryPolicy(this.options.retry ?? {}, this.budget, (error) => this.retryable(error, method));
      this.retryPolicies.set(method, policy);
    }
    return policy;
  }

  private retryable(error: Error, method: string): boolean {
    // Nothing reached an instance: safe for any method.
    if (error instanceof BrokenCircuitError || refused(error)) return true;
    if (error instanceof UpstreamStatusError && error.status === 503) return true;
    return IDEMPOTENT.has(method) && (error instanceof UpstreamStatusError || error instanceof TaskCancelledError || error instanceof TypeError);
  }

  private urlOf(instance: PickedInstance, path: string): string {
    const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
    const port = instance.port === null ? '' : `:${instance.port}`;
    return `${this.options.scheme ?? 'http'}://${host}${port}${path === '' || path.startsWith('/') ? path : `/${path}`}`;
  }
}

/** fetch's error when the connection was refused: the request was never sent. */
function refused(error: Error): boolean {
  return error instanceof TypeError && (error.cause as { code?: string } | undefined)?.code === 'ECONNREFUSED';
}

/** JSON when the response says so, nothing for an empty body, else the response itself (its body read). */
async function readBody(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) return response.json();
  const bytes = await response.arrayBuffer();
  if (bytes.byteLength === 0) return undefined;
  return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
}
