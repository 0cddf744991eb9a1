import { createInterface } from 'node:readline';
import { ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { SwitchboardError } from '@switchboard/contracts';
import type { KubeApi } from './api.js';
import { toRegistryError } from './errors.js';
import { isNamedObject, recordOf, type KubeObject } from './objects.js';

export interface InformerSpec {
  /** The collection: /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices. */
  path: string;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
}

export interface InformerSettings {
  backend: string;
  watchTimeoutSeconds: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** An item that is not an object with a name: skipped, as nothing could cache it. */
  onMalformed: (message: string) => void;
}

export interface InformerEvents {
  /** An object was added, changed or deleted (a relist may call it for many at once). */
  changed(): void;
  /** The list or watch failed after the informer ran: it retries by itself with backoff. */
  stale(error: SwitchboardError): void;
  /** A watch is established again after `stale`. */
  live(): void;
}

/**
 * One collection followed by client-node's informer (ListWatch: list, then watch from the list's
 * resourceVersion; relist on 410 Gone; resume from the last resourceVersion when a watch ends). What
 * ListWatch leaves to its user is done here: it stops at the first error, so this restarts it with
 * exponential backoff, and says when it went stale and when it is live again.
 */
export class ResourceInformer {
  private readonly listWatch: ListWatch<KubernetesObject>;
  private readonly lifetime = new AbortController();
  private state: 'starting' | 'live' | 'stale' | 'stopped' = 'starting';
  /** The error a start attempt ended with, if any (ListWatch reports it to its error callback, not to start()). */
  private failure: unknown;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    api: KubeApi,
    spec: InformerSpec,
    private readonly settings: InformerSettings,
    private readonly events: InformerEvents,
  ) {
    this.retryDelay = settings.retryMinMs;
    const watch = new StreamingWatch(api, this.lifetime.signal, settings, () => this.established());
    const list = () => listOf(api, spec, settings.onMalformed);
    this.listWatch = new ListWatch(spec.path, watch, list, false, spec.labelSelector, spec.fieldSelector);
    this.listWatch.on('change', () => events.changed());
    this.listWatch.on('error', (error: unknown) => this.failed(error));
  }

  /** Lists, then opens the watch; throws (as the backend's error) when either fails. */
  async start(): Promise<void> {
    this.failure = undefined;
    await this.listWatch.start();
    if (this.failure === undefined) return;
    await this.stop();
    throw toRegistryError(this.failure, this.settings.backend);
  }

  get live(): boolean {
    return this.state === 'live';
  }

  objects(): KubeObject[] {
    return this.listWatch.list() as unknown as KubeObject[];
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    this.lifetime.abort();
    await this.listWatch.stop();
  }

  private established(): void {
    this.retryDelay = this.settings.retryMinMs;
    if (this.state === 'starting' || this.state === 'stale') {
      const recovered = this.state === 'stale';
      this.state = 'live';
      if (recovered) this.events.live();
    }
  }

  private failed(error: unknown): void {
    if (this.state === 'starting') {
      this.failure = error;
      return;
    }
    if (this.state === 'stopped') return;
    if (this.state === 'live') {
      this.state = 'stale';
      this.events.stale(toRegistryError(error, this.settings.backend));
    }
    // Full jitter, so informers that failed together do not come back together.
    const delay = Math.round(Math.random() * this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, this.settings.retryMaxMs);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      // Resumes the watch from its resourceVersion (or lists, after a 410); a failure comes back to `failed`.
      if (this.state !== 'stopped') this.listWatch.start().catch((failure: unknown) => this.failed(failure));
    }, delay);
  }
}

/** The list, as raw JSON: an item that is not an object with a name is dropped (ListWatch's cache would throw on it). */
async function listOf(api: KubeApi, spec: InformerSpec, onMalformed: (message: string) => void): Promise<KubernetesListObject<KubernetesObject>> {
  const list = recordOf(await api.get(spec.path, { labelSelector: spec.labelSelector, fieldSelector: spec.fieldSelector }));
  if (!list || !Array.isArray(list['items'])) throw new SyntaxError(`the answer to ${spec.path} is not a list`);
  const items = list['items'].filter((item: unknown) => {
    if (isNamedObject(item)) return true;
    onMalformed(`An item of ${spec.path} without a name was skipped.`);
    return false;
  });
  return { metadata: recordOf(list['metadata']) ?? {}, items } as KubernetesListObject<KubernetesObject>;
}

/**
 * client-node's Watch, over KubeApi's requests: it asks for bookmarks (so a quiet watch's resourceVersion
 * keeps up and a restart does not fall behind compaction) and for the server to end the watch after a
 * while, fails a dial after the dial timeout, skips events it cannot cache, and paces re-watches that end
 * at once (a server that accepts and drops in a loop).
 */
class StreamingWatch extends Watch {
  /** When the last watch was established, and the wait before the next one. */
  private lastEstablished = 0;
  private pause = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly lifetime: AbortSignal,
    private readonly settings: InformerSettings,
    private readonly onEstablished: () => void,
  ) {
    super(api.kubeConfig);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    this.lifetime.addEventListener('abort', abort, { once: true });
    let finished = false;
    // Once per watch, and not when the informer itself ended it (ListWatch's stop, or a restart it made).
    const finish = (error: unknown) => {
      if (finished) return;
      finished = true;
      this.lifetime.removeEventListener('abort', abort);
      const endedByCaller = controller.signal.aborted;
      controller.abort();
      if (!endedByCaller) done(error);
    };
    try {
      await this.paced(controller.signal);
      const query = Object.fromEntries(Object.entries(queryParams).map(([key, value]) => [key, value === undefined ? undefined : String(value)]));
      const response = await this.api.stream(
        path,
        { ...query, watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(this.settings.watchTimeoutSeconds) },
        controller.signal,
      );
      this.lastEstablished = Date.now();
      this.onEstablished();
      const lines = createInterface({ input: response, crlfDelay: Infinity });
      lines.on('line', (line) => this.deliver(line, callback));
      // A watch cut off (reset, a proxy's timeout) resumes like one the server ended: from the last resourceVersion.
      // (readline re-emits its input's errors: unheard, they would be uncaught.)
      lines.on('error', () => finish(null));
      lines.once('close', () => finish(null));
    } catch (error) {
      finish(error);
    }
    return controller;
  }

  private deliver(line: string, callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void): void {
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      this.settings.onMalformed(`A watch event that is not JSON was skipped: ${line.slice(0, 120)}`);
      return;
    }
    const type = event.type;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      if (!isNamedObject(event.object)) return this.settings.onMalformed(`A ${type} event without a named object was skipped.`);
    } else if (type !== 'BOOKMARK' && type !== 'ERROR') return;
    if (!recordOf(event.object)) return;
    callback(type, event.object, event);
  }

  /**
   * Waits before a re-watch when the last watch ended within a second of being established: 100 ms,
   * doubling to 5 s. (A watch that could not be established is paced by the informer's backoff.)
   */
  private async paced(signal: AbortSignal): Promise<void> {
    this.pause = Date.now() - this.lastEstablished < 1000 ? Math.min(Math.max(this.pause * 2, 100), 5000) : 0;
    if (this.pause === 0 || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.pause);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (signal.aborted) throw new Error('the watch was stopped');
  }
}
