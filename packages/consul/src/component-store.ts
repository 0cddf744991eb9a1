import { COMPONENT_TYPES, conflict, defaultComponentId, notFound } from '@switchboard/contracts';
import { validateComponent, type Component, type ComponentType, type RegisteredComponent } from '@switchboard/sdk';
import type { RegistryContext } from './context.js';
import { isRecord } from './instances.js';
import { decodeKeyPart, encodeKeyPart, parseJson, type KvEntry } from './kv.js';

/** A registration racing another of the same id is retried this many times (each a compare-and-set). */
const CAS_ATTEMPTS = 5;

/**
 * Components in Consul's KV, one JSON value per component at `<componentPrefix><id>` (the id escaped into one
 * key part, see `encodeKeyPart`). A registration keeps the first `registeredAt`, by a compare-and-set on the
 * value it read. What is under the prefix and not a component as written here is warned of and skipped.
 */
export class ComponentStore {
  constructor(private readonly context: RegistryContext) {}

  async register(component: Component): Promise<RegisteredComponent> {
    validateComponent(component);
    const id = component.id ?? defaultComponentId(component.name, component.version)!;
    const key = this.keyOf(id);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const { entry } = await this.context.kv.get(key);
      const existing = entry ? this.read(entry) : undefined;
      const now = new Date().toISOString();
      const record: RegisteredComponent = {
        id,
        type: component.type,
        name: component.name,
        version: component.version,
        description: component.description ?? null,
        dependencies: [...(component.dependencies ?? [])],
        metadata: (component.metadata ?? {}) as Record<string, unknown>,
        flows: [...(component.flows ?? [])],
        provider: component.provider ?? null,
        registeredAt: existing?.registeredAt ?? now,
        updatedAt: now,
      };
      // cas=0: only if still absent; else only if unchanged since it was read.
      if (await this.context.kv.put(key, JSON.stringify(record), entry?.modifyIndex ?? 0)) return record;
    }
    throw conflict(`Component "${id}" kept changing while it was registered (${CAS_ATTEMPTS} attempts); try again.`, { id });
  }

  async unregister(id: string): Promise<void> {
    const key = this.keyOf(id);
    const { entry } = await this.context.kv.get(key);
    if (!entry) throw notFound('Component', id);
    await this.context.kv.delete(key);
  }

  async get(id: string): Promise<RegisteredComponent | undefined> {
    const { entry } = await this.context.kv.get(this.keyOf(id));
    return entry ? this.read(entry) : undefined;
  }

  async list(type?: ComponentType): Promise<RegisteredComponent[]> {
    const entries = await this.context.kv.list(this.context.settings.componentPrefix, this.context.warn);
    return entries
      .map((entry) => this.read(entry))
      .filter((component): component is RegisteredComponent => component !== undefined && (type === undefined || component.type === type))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private keyOf(id: string): string {
    return this.context.settings.componentPrefix + encodeKeyPart(id);
  }

  /** The component stored in `entry`, or undefined (warned of) when it is not one written here under its own key. */
  private read(entry: KvEntry): RegisteredComponent | undefined {
    const parsed = parseJson(entry, this.context.warn);
    if (!parsed) return undefined;
    const value = parsed.value;
    const id = decodeKeyPart(entry.key.slice(this.context.settings.componentPrefix.length));
    const valid =
      isRecord(value) &&
      value['id'] === id &&
      (COMPONENT_TYPES as readonly unknown[]).includes(value['type']) &&
      typeof value['name'] === 'string' &&
      typeof value['version'] === 'string' &&
      (value['description'] === null || typeof value['description'] === 'string') &&
      Array.isArray(value['dependencies']) &&
      value['dependencies'].every((dependency) => typeof dependency === 'string') &&
      isRecord(value['metadata']) &&
      typeof value['registeredAt'] === 'string' &&
      typeof value['updatedAt'] === 'string';
    if (!valid) {
      this.context.warn(`KV "${entry.key.slice(0, 200)}" is not a component as Switchboard writes it; ignored`);
      return undefined;
    }
    const { type, name, version, description, dependencies, metadata, registeredAt, updatedAt } = value as unknown as RegisteredComponent;
    // Absent from components written before flows and providers were stored.
    const flows = Array.isArray(value['flows']) && value['flows'].every((flow) => typeof flow === 'string') ? (value['flows'] as string[]) : [];
    const provider = typeof value['provider'] === 'string' ? value['provider'] : null;
    return { id: id!, type, name, version, description, dependencies, metadata, flows, provider, registeredAt, updatedAt };
  }
}
