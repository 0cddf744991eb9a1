export { LoadBalancer, type BalancedInstance, type BalancingStrategy, type LoadBalancerOptions, type SelectOptions } from './load-balancer.js';
