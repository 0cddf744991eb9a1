import type { SwitchboardError } from '@switchboard/contracts';
import type { InstancesListener, ServiceInstance } from '@switchboard/sdk';
import type { KubeApi } from './api.js';
import { ResourceInformer, type InformerSettings, type InformerSpec } from './informer.js';
import { toInstances, type InstanceSettings } from './instances.js';
import { isNamedObject, recordOf, type KubeObject } from './objects.js';

export interface ViewSettings {
  instances: InstanceSettings;
  slices: InformerSpec;
  /** Undefined when Pods are not read. */
  pods: InformerSpec | undefined;
  informers: Omit<InformerSettings, 'onMalformed'>;
  onWarning: (message: string) => void;
}

interface Follower {
  select: (instance: ServiceInstance) => boolean;
  listener: InstancesListener;
  onStale: ((error: unknown) => void) | undefined;
  /** The set last delivered, as JSON: a change elsewhere in the namespace delivers nothing. */
  delivered: string | undefined;
  staleSaid: boolean;
}

/** Told of each recomputation: the instances before and after (for events derived from changes). */
export type ChangeHandler = (before: readonly ServiceInstance[], after: readonly ServiceInstance[]) => void;

/** Warnings said, by object version: a malformed object is reported once, not at every recomputation. */
const MAX_WARNINGS_REMEMBERED = 10_000;

/**
 * The namespace's instances, followed: an informer over the EndpointSlices the label selector picks, one over
 * the Pods the field selector picks, and the instances computed from both after every change (coalesced: a
 * relist of a thousand objects recomputes once). Followers get their selection of the set when it changes,
 * `onStale` once when an informer fails, and the set again when every informer is back.
 */
export class ClusterView {
  private slices: ResourceInformer | undefined;
  private pods: ResourceInformer | undefined;
  private starting: Promise<void> | undefined;
  private current: ServiceInstance[] = [];
  private readonly followers = new Set<Follower>();
  private readonly changeHandlers = new Set<ChangeHandler>();
  private recomputeScheduled = false;
  /** Why an informer is failing, while one is: a follower that joins then is told at once. */
  private staleError: SwitchboardError | undefined;
  private closed = false;
  private readonly warned = new Set<string>();

  constructor(
    private readonly api: KubeApi,
    private readonly settings: ViewSettings,
  ) {}

  /** Starts following (once): resolves when both informers listed and watch; a failure is thrown, and the next call tries again. */
  start(): Promise<void> {
    this.starting ??= this.open().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  /** Started and every informer's watch is established: the instances are current. */
  get live(): boolean {
    return this.slices !== undefined && this.slices.live && (this.pods?.live ?? true);
  }

  /** The instances as of the last change seen (one still waiting to be computed is computed now). */
  instances(): ServiceInstance[] {
    if (this.recomputeScheduled) this.recompute();
    return this.current;
  }

  /** Lists once, without watching: the instances now, for a lookup made while nothing follows them. */
  async snapshot(): Promise<ServiceInstance[]> {
    const list = async (spec: InformerSpec | undefined) => {
      if (!spec) return [];
      const answer = recordOf(await this.api.get(spec.path, { labelSelector: spec.labelSelector, fieldSelector: spec.fieldSelector }));
      const items: unknown = answer?.['items'];
      if (!Array.isArray(items)) throw new SyntaxError(`the answer to ${spec.path} is not a list`);
      return items.filter(isNamedObject);
    };
    const [slices, pods] = await Promise.all([list(this.settings.slices), list(this.settings.pods)]);
    return this.compute(slices, pods);
  }

  /** Delivers `select`'s part of the set now (the view must be started), then after each change to it. */
  follow(select: (instance: ServiceInstance) => boolean, listener: InstancesListener, onStale?: (error: unknown) => void): () => void {
    const follower: Follower = { select, listener, onStale, delivered: undefined, staleSaid: false };
    this.followers.add(follower);
    this.deliver(follower, true);
    if (this.staleError) {
      follower.staleSaid = true;
      onStale?.(this.staleError);
    }
    return () => void this.followers.delete(follower);
  }

  onChange(handler: ChangeHandler): () => void {
    this.changeHandlers.add(handler);
    return () => void this.changeHandlers.delete(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.followers.clear();
    this.changeHandlers.clear();
    await this.starting?.catch(() => {});
    await Promise.all([this.slices?.stop(), this.pods?.stop()]);
  }

  private async open(): Promise<void> {
    const settings: InformerSettings = { ...this.settings.informers, onMalformed: (message) => this.warnOnce(message, message) };
    const events = { changed: () => this.schedule(), stale: (error: SwitchboardError) => this.wentStale(error), live: () => this.cameBack() };
    const slices = new ResourceInformer(this.api, this.settings.slices, settings, events);
    const pods = this.settings.pods && new ResourceInformer(this.api, this.settings.pods, settings, events);
    const informers = pods ? [slices, pods] : [slices];
    const started = await Promise.allSettled(informers.map((informer) => informer.start()));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed || this.closed) {
      await Promise.all(informers.map((informer) => informer.stop()));
      throw failed ? failed.reason : new Error(`the registry was closed`);
    }
    this.slices = slices;
    this.pods = pods || undefined;
    this.recompute();
  }

  private compute(slices: readonly KubeObject[], pods: readonly KubeObject[]): ServiceInstance[] {
    const byName = new Map(pods.map((pod) => [pod.metadata.name, pod]));
    return toInstances(slices, byName, this.settings.instances, (object, message) =>
      this.warnOnce(`${object.metadata.name}@${object.metadata.resourceVersion}:${message}`, message),
    );
  }

  private schedule(): void {
    if (this.recomputeScheduled) return;
    this.recomputeScheduled = true;
    setImmediate(() => {
      if (this.recomputeScheduled && !this.closed) this.recompute();
    });
  }

  private recompute(): void {
    this.recomputeScheduled = false;
    if (!this.slices) return;
    const before = this.current;
    this.current = this.compute(this.slices.objects(), this.pods?.objects() ?? []);
    for (const follower of this.followers) this.deliver(follower, false);
    for (const handler of this.changeHandlers) handler(before, this.current);
  }

  private deliver(follower: Follower, always: boolean): void {
    const selected = this.current.filter(follower.select);
    const json = JSON.stringify(selected);
    if (!always && json === follower.delivered) return;
    follower.delivered = json;
    follower.listener(selected);
  }

  private wentStale(error: SwitchboardError): void {
    this.staleError = error;
    for (const follower of this.followers) {
      if (follower.staleSaid) continue;
      follower.staleSaid = true;
      follower.onStale?.(error);
    }
  }

  /** Every informer watches again: each follower that was told stale gets its set, current again. */
  private cameBack(): void {
    if (!this.live) return;
    this.staleError = undefined;
    for (const follower of this.followers) {
      if (!follower.staleSaid) continue;
      follower.staleSaid = false;
      follower.delivered = undefined;
    }
    this.recompute();
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_WARNINGS_REMEMBERED) this.warned.clear();
    this.warned.add(key);
    this.settings.onWarning(message);
  }
}
