import type { DiscoveryPicker } from '../resilience/discovery-picker.js';
import type { CallOptions, ServiceClient } from '../resilience/service-client.js';

/**
 * What a `@dependency` field holds: the dependency's ServiceClient (an instance per call, balanced, through its
 * breaker, retried, bounded by timeouts, its outcome reported), counted while in flight so that shutting down
 * waits for it, and `url()` for callers with their own HTTP client.
 */
export class DependencyClient {
  constructor(
    readonly client: ServiceClient,
    private readonly picker: DiscoveryPicker,
    private readonly inFlight: InFlightCalls,
  ) {}

  get service(): string {
    return this.picker.service;
  }

  get<T = unknown>(path: string, options?: CallOptions): Promise<T> {
    return this.inFlight.track(this.client.get<T>(path, options));
  }

  post<T = unknown>(path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return this.inFlight.track(this.client.post<T>(path, body, options));
  }

  put<T = unknown>(path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return this.inFlight.track(this.client.put<T>(path, body, options));
  }

  delete<T = unknown>(path: string, options?: CallOptions): Promise<T> {
    return this.inFlight.track(this.client.delete<T>(path, options));
  }

  request(path: string, init?: RequestInit & { hashKey?: string }): Promise<Response> {
    return this.inFlight.track(this.client.request(path, init));
  }

  /**
   * "http://host:port" of an instance to call now (passing, in range, no open breaker, not ejected, chosen by
   * the balancer), plus `path`. Synchronous: a started service's dependencies are in the discovery cache.
   */
  url(path = '', options: { hashKey?: string } = {}): string {
    const instance = this.picker.pickNow({ ...options, exclude: this.client.breakers.unavailable() });
    const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
    return `http://${host}${instance.port == null ? '' : `:${instance.port}`}${path}`;
  }
}

/** Calls under way through the dependencies: shutting down lets them finish. */
export class InFlightCalls {
  private readonly calls = new Set<Promise<unknown>>();

  track<T>(call: Promise<T>): Promise<T> {
    this.calls.add(call);
    const done = () => this.calls.delete(call);
    call.then(done, done);
    return call;
  }

  get size(): number {
    return this.calls.size;
  }

  /** Resolves once every call now under way has settled, or after `timeoutMs`; true when they all did. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.calls.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const settled = Promise.allSettled([...this.calls]).then(() => true);
    try {
      return await Promise.race([settled, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
