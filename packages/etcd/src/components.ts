import { componentSchema, COMPONENT_TYPES, notFound, parseInput } from '@switchboard/contracts';
import type { Component, ComponentType, RegisteredComponent } from '@switchboard/sdk';
import type { EtcdCalls } from './calls.js';
import { rangeOf, readKey } from './catalog.js';

/** Components at `<componentsPrefix><id>`, each value the RegisteredComponent as JSON. */

export async function registerComponent(calls: EtcdCalls, prefix: string, component: Component): Promise<RegisteredComponent> {
  // The server's rules, and its default id ("name@version", or the display name's slug and version).
  const parsed = parseInput(componentSchema, component, 'component');
  const key = `${prefix}${parsed.id}`;
  const existing = await readKey(calls, key);
  const now = new Date().toISOString();
  const registered: RegisteredComponent = {
    id: parsed.id,
    type: parsed.type,
    name: parsed.name,
    version: parsed.version,
    description: parsed.description ?? null,
    dependencies: [...(component.dependencies ?? [])],
    metadata: parsed.metadata,
    flows: parsed.flows ?? [],
    provider: parsed.provider ?? null,
    registeredAt: (existing && decodeComponent(existing.value.toString())?.registeredAt) ?? now,
    updatedAt: now,
  };
  await calls.run(() => calls.client.put(key).value(JSON.stringify(registered)).exec());
  return registered;
}

export async function unregisterComponent(calls: EtcdCalls, prefix: string, id: string): Promise<void> {
  const response = await calls.run(() => calls.client.delete().key(`${prefix}${id}`).exec());
  if (Number(response.deleted) === 0) throw notFound('Component', id);
}

export async function getComponent(calls: EtcdCalls, prefix: string, id: string, warn: (message: string) => void): Promise<RegisteredComponent | undefined> {
  const kv = await readKey(calls, `${prefix}${id}`);
  return kv && decodeOrWarn(kv.key.toString(), kv.value.toString(), warn);
}

export async function listComponents(
  calls: EtcdCalls,
  prefix: string,
  type: ComponentType | undefined,
  warn: (message: string) => void,
): Promise<RegisteredComponent[]> {
  const kvs = await rangeOf(calls, prefix);
  return kvs
    .map((kv) => decodeOrWarn(kv.key.toString(), kv.value.toString(), warn))
    .filter((component): component is RegisteredComponent => component !== undefined && (type === undefined || component.type === type));
}

function decodeOrWarn(key: string, value: string, warn: (message: string) => void): RegisteredComponent | undefined {
  const component = decodeComponent(value);
  if (!component) warn(`skipped the component at "${key.slice(0, 200)}": not a component as JSON.`);
  return component;
}

function decodeComponent(value: string): RegisteredComponent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  const component = parsed as Partial<RegisteredComponent> | null;
  const strings = (list: unknown) => Array.isArray(list) && list.every((item) => typeof item === 'string');
  if (
    typeof component !== 'object' ||
    component === null ||
    typeof component.id !== 'string' ||
    typeof component.name !== 'string' ||
    typeof component.version !== 'string' ||
    !(COMPONENT_TYPES as readonly unknown[]).includes(component.type) ||
    !strings(component.dependencies)
  ) {
    return undefined;
  }
  return {
    id: component.id,
    type: component.type!,
    name: component.name,
    version: component.version,
    description: typeof component.description === 'string' ? component.description : null,
    dependencies: component.dependencies!,
    metadata: typeof component.metadata === 'object' && component.metadata !== null ? component.metadata : {},
    // Absent from components written before flows and providers were stored.
    flows: strings(component.flows) ? component.flows! : [],
    provider: typeof component.provider === 'string' ? component.provider : null,
    registeredAt: typeof component.registeredAt === 'string' ? component.registeredAt : '',
    updatedAt: typeof component.updatedAt === 'string' ? component.updatedAt : '',
  };
}
