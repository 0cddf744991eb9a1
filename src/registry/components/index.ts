/** The framework component catalogue: steps, transformers, validators, flows, middleware, plugins. */
export { registerComponent, unregisterComponent } from './register.js';
export { countComponents, getComponentsByIds, getComponentsByReferences, getComponentsDependingOn, listComponents, type ComponentQuery } from './queries.js';
export { resolveDependencies, dependentsOf, referencesOf, type MissingDependency, type Resolution } from './resolve.js';
export { dependencyOrder, requireAll, MAX_ORDER_IDS, type LoadByReferences } from './order.js';
export { dependencySpec, type Component, type ComponentType, type ComponentDependency } from './model.js';
export { composeFlow, watchFlow, flowCompositions, FLOW_COALESCE_MS, type Composition, type FlowDeps } from './compose.js';
export { flowCatalogReads } from './flow-catalog.js';
