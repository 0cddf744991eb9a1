import type { InstancesListener, ServiceInstance, WatchOptions } from '@switchboard/sdk';
import { BlockingQuery } from './blocking-query.js';
import type { RegistryContext } from './context.js';
import { instancesOfHealth, isRecord } from './instances.js';

/** Follows one service's instances (a blocking /v1/health/service/:name); what watchService and watchCatalog share. */
export function serviceQuery(
  context: RegistryContext,
  name: string,
  handlers: { onChange: (instances: ServiceInstance[]) => void; onStale?: (error: unknown) => void },
): BlockingQuery<ServiceInstance[]> {
  return new BlockingQuery<ServiceInstance[]>({
    http: context.http,
    path: `/v1/health/service/${encodeURIComponent(name)}`,
    waitMs: context.settings.watchWaitMs,
    rate: context.settings.watchRate,
    warn: context.warn,
    read: (answer) => instancesOfHealth(JSON.parse(answer.text), context.warn),
    ...handlers,
  });
}

/**
 * The whole catalog: a blocking query on /v1/catalog/services for the names, and one per service on
 * /v1/health/service/:name for its instances (Consul has no single blocking query over every instance with
 * its health). The listener gets every instance of every service, after the first answers and after each
 * change. While any of the queries fails the catalog is stale (`onStale` once); when all answer again the
 * whole set is delivered.
 */
export class CatalogWatch {
  private readonly services = new Map<string, { query: BlockingQuery<ServiceInstance[]>; instances: ServiceInstance[] }>();
  /** The queries failing now, each with its error. */
  private readonly failing = new Map<string, unknown>();
  private readonly names: BlockingQuery<string[]>;
  /** Applying the names' changes one at a time (starting a service's query is asynchronous). */
  private applying: Promise<void> = Promise.resolve();
  private ready = false;
  private stale = false;
  /** The JSON of the last set delivered: an answer that changes nothing delivers nothing. */
  private delivered: string | undefined;
  private stopped = false;

  constructor(
    private readonly context: RegistryContext,
    private readonly listener: InstancesListener,
    private readonly options: WatchOptions,
  ) {
    this.names = new BlockingQuery<string[]>({
      http: context.http,
      path: '/v1/catalog/services',
      waitMs: context.settings.watchWaitMs,
      rate: context.settings.watchRate,
      warn: context.warn,
      read: (answer) => {
        const body: unknown = JSON.parse(answer.text);
        if (!isRecord(body)) throw new Error('the answer is not a map of service names');
        return Object.keys(body).sort();
      },
      onChange: (names) => {
        this.answered('catalog');
        this.applying = this.applying.then(() => this.apply(names));
      },
      onStale: (error) => this.failed('catalog', error),
    });
  }

  /** Resolves once the first whole set was delivered; throws when the catalog cannot be listed. */
  async start(): Promise<void> {
    await this.names.start();
    await this.applying;
    this.ready = true;
    this.deliver();
    const [first] = this.failing.values();
    if (this.failing.size > 0) this.goStale(first);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.names.stop();
    await this.applying;
    await Promise.all([...this.services.values()].map(({ query }) => query.stop()));
    this.services.clear();
  }

  private async apply(names: readonly string[]): Promise<void> {
    if (this.stopped) return;
    const wanted = new Set(names);
    const gone = [...this.services.keys()].filter((name) => !wanted.has(name));
    for (const name of gone) {
      const service = this.services.get(name)!;
      this.services.delete(name);
      this.failing.delete(`service:${name}`);
      await service.query.stop();
    }
    const added = names.filter((name) => !this.services.has(name));
    await Promise.all(added.map((name) => this.follow(name)));
    if (gone.length > 0 || added.length > 0) this.deliver();
  }

  private follow(name: string): Promise<void> {
    const key = `service:${name}`;
    const service = {
      instances: [] as ServiceInstance[],
      query: serviceQuery(this.context, name, {
        onChange: (instances) => {
          service.instances = instances;
          this.answered(key);
          this.deliver();
        },
        onStale: (error) => this.failed(key, error),
      }),
    };
    this.services.set(name, service);
    return service.query.startFollowing();
  }

  private answered(key: string): void {
    this.failing.delete(key);
    if (this.stale && this.failing.size === 0) {
      this.stale = false;
      // Current again: the whole set, changed or not (see WatchOptions.onStale).
      this.deliver(true);
    }
  }

  private failed(key: string, error: unknown): void {
    this.failing.set(key, error);
    if (this.ready) this.goStale(error);
  }

  private goStale(error: unknown): void {
    if (this.stale || this.stopped) return;
    this.stale = true;
    this.options.onStale?.(error);
  }

  private deliver(force = false): void {
    if (!this.ready || this.stopped || this.stale) return;
    const instances = [...this.services.values()].flatMap((service) => service.instances);
    const print = JSON.stringify(instances);
    if (!force && print === this.delivered) return;
    this.delivered = print;
    try {
      this.listener(instances);
    } catch (error) {
      this.context.warn(`a listener of the catalog threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
