import {
  composeFlow as composeFromCatalog,
  parseComposeRequest,
  parseDependencySpec,
  type ComposableComponent,
  type ComposeRequirementsInput,
  type FlowComposition,
} from '@switchboard/contracts';
import type { RegisteredComponent, Registry } from './registry.js';
import { SwitchboardRegistry } from './switchboard-registry.js';

/** A flow's composition as the SDK hands it out: the components as `listComponents` returns them. */
export type Composition = FlowComposition<RegisteredComponent>;

/**
 * Which registered steps, transformers, validators and middleware fit `flow`, resolved to one
 * version each and ordered dependencies first, with every candidate left out and why (see
 * docs/composition.md). On a SwitchboardRegistry the server answers (`composeFlow`); on any
 * other registry it is computed here, by the same algorithm, from `listComponents` and the
 * providers' passing instances.
 */
export async function composeFlow(registry: Registry, flow: string, requirements?: ComposeRequirementsInput | null): Promise<Composition> {
  if (registry instanceof SwitchboardRegistry) return registry.composeFlow(flow, requirements);
  return composeFlowLocally(registry, flow, requirements);
}

/** composeFlow computed in this process over any registry's catalog, whatever the backend. */
export async function composeFlowLocally(registry: Registry, flow: string, requirements?: ComposeRequirementsInput | null): Promise<Composition> {
  parseComposeRequest(flow, requirements); // bad input is refused before anything is read
  const registered = await registry.listComponents();
  const providers = [...new Set(registered.flatMap((component) => component.provider ?? []))];
  const passing = await Promise.all(providers.map(async (name) => [name, (await registry.discoverServices(name, { passingOnly: true })).length > 0] as const));
  const healthy = new Map(passing);
  const byId = new Map(registered.map((component) => [component.id, component]));
  const composition = composeFromCatalog(flow, registered.map(composable), {
    providerHealthy: (service) => healthy.get(service) ?? false,
    requirements,
  });
  // Hand back the components as the registry listed them.
  const original = (component: ComposableComponent): RegisteredComponent => byId.get(component.id)!;
  return {
    ...composition,
    flow: { ...composition.flow, component: composition.flow.component && original(composition.flow.component) },
    components: composition.components.map((entry) => ({ ...entry, component: original(entry.component) })),
    excluded: composition.excluded.map((entry) => ({ ...entry, component: original(entry.component) })),
  };
}

/** The registry's component with its dependencies parsed ("http-client@^1" -> name and range), as composition reads them. */
function composable(component: RegisteredComponent): ComposableComponent {
  return {
    ...component,
    dependencies: component.dependencies.flatMap((spec) => parseDependencySpec(spec) ?? []),
    flows: component.flows ?? [],
    provider: component.provider ?? null,
  };
}
