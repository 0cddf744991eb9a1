import type { ConfigChangeCallback, Stop } from '@switchboard/sdk';
import { ApiStatusError, type KubeApi } from './api.js';
import { toRegistryError } from './errors.js';
import { ResourceInformer, type InformerSettings } from './informer.js';
import { recordOf, type KubeObject } from './objects.js';

/**
 * Configuration read from one ConfigMap: a key is an entry of its `data`, whose value is read as JSON when
 * it parses ("10" → 10, `{"rps":5}` → an object) and as the string otherwise. Read-only: the ConfigMap is
 * changed the Kubernetes way (kubectl apply, a Helm chart), and watchers are told.
 */
export class ConfigMapReader {
  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly name: string,
    private readonly informerSettings: InformerSettings,
  ) {}

  private get path(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`;
  }

  /** The key's value now; undefined when the ConfigMap or the key is absent. */
  async get(key: string): Promise<unknown> {
    let configMap: unknown;
    try {
      configMap = await this.api.get(`${this.path}/${encodeURIComponent(this.name)}`);
    } catch (error) {
      if (error instanceof ApiStatusError && error.statusCode === 404) return undefined;
      throw toRegistryError(error, this.informerSettings.backend);
    }
    return valueOf(configMap, key);
  }

  /** Calls `callback` for each change of the key's value from now on (the ConfigMap created, edited or deleted). */
  async watch(key: string, callback: ConfigChangeCallback): Promise<Stop> {
    let value: unknown;
    let started = false;
    const informer: ResourceInformer = new ResourceInformer(this.api, { path: this.path, fieldSelector: `metadata.name=${this.name}` }, this.informerSettings, {
      changed: () => {
        const next = valueOf(informer.objects()[0], key);
        if (!started || JSON.stringify(next) === JSON.stringify(value)) return;
        const old = value;
        value = next;
        callback(key, old, next);
      },
      // The informer retries by itself; a change made meanwhile is told once it watches again.
      stale: () => {},
      live: () => {},
    });
    await informer.start();
    value = valueOf(informer.objects()[0], key);
    started = true;
    return () => informer.stop();
  }
}

function valueOf(configMap: unknown, key: string): unknown {
  const data = recordOf(recordOf(configMap as KubeObject | undefined)?.['data']);
  const text = data && Object.hasOwn(data, key) ? data[key] : undefined;
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
