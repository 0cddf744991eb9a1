// Discovery and balancing: a push-fed cache of instances, and per-call selection over it.
export * from './discovery/index.js';
export * from './balancer/index.js';
