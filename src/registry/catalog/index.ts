/** The in-memory catalog each server reads discovery and selection from. */
export { Catalog, type CatalogEntry, type CatalogBreaker } from './catalog.js';
export { discover, discoverByTag, instancesByIds, summarize } from './queries.js';
