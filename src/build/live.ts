import { ComponentsDocument, ConfigDocument, DiscoverServicesDocument, type ComponentFieldsFragment, type SwitchboardClient } from '@switchboard/client';
import type { Manifest } from './manifest.js';

/** A registered component as plan compares it. */
export type LiveComponent = Omit<ComponentFieldsFragment, 'metadata'> & { metadata: Record<string, unknown> };

/** What plan needs to know of the registry: every component, the manifest's config keys, its services' instances. */
export interface LiveState {
  components: LiveComponent[];
  /** Each config key the manifest gives a default, with its global value (null: none). */
  config: Map<string, { version: number; value: unknown; redacted: boolean } | null>;
  services: Map<string, { version: string | null }[]>;
}

/**
 * Reads the registry for a manifest. Every component is read, not only the manifest's: `--prune`
 * looks for this project's components that the manifest no longer declares.
 */
export async function readLiveState(client: SwitchboardClient, manifest: Manifest): Promise<LiveState> {
  const keys = [...new Set(manifest.services.flatMap((service) => service.configFields.filter((field) => field.default != null).map((field) => field.key)))];
  const names = [...new Set(manifest.services.map((service) => service.name))];
  const [{ components }, entries, instances] = await Promise.all([
    client.request(ComponentsDocument, {}),
    Promise.all(keys.map(async (key) => [key, (await client.request(ConfigDocument, { key })).config] as const)),
    Promise.all(names.map(async (name) => [name, (await client.request(DiscoverServicesDocument, { name })).discoverServices] as const)),
  ]);
  return {
    components: components.map((component) => ({ ...component, metadata: (component.metadata ?? {}) as Record<string, unknown> })),
    config: new Map(entries.map(([key, entry]) => [key, entry && { version: entry.version, value: entry.value, redacted: entry.redacted }])),
    services: new Map(instances.map(([name, list]) => [name, list.map((instance) => ({ version: instance.version }))])),
  };
}
