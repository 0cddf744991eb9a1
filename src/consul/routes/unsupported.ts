import { ConsulError } from '../errors.js';
import type { Method, Route } from '../router.js';
import type { RouteModule } from '../api.js';

/**
 * Consul endpoints Switchboard does not implement, each answered 501 Not Implemented with a
 * sentence naming the feature: a client then fails loudly. A 404 would not do: several
 * clients read 404 as "no such key/session" and carry on with nothing.
 */
const UNSUPPORTED: readonly { feature: string; patterns: readonly string[] }[] = [
  { feature: 'Sessions (and locks or semaphores built on them)', patterns: ['/v1/session/*rest'] },
  { feature: 'Prepared queries', patterns: ['/v1/query', '/v1/query/*rest'] },
  {
    feature: 'Connect (the service mesh: intentions, CA, proxies, gateways)',
    patterns: [
      '/v1/connect/*rest',
      '/v1/agent/connect/*rest',
      '/v1/catalog/connect/*rest',
      '/v1/health/connect/*rest',
      '/v1/health/ingress/*rest',
      '/v1/catalog/gateway-services/*rest',
      '/v1/discovery-chain/*rest',
    ],
  },
  { feature: "The ACL API (Switchboard's tokens are managed through GraphQL: createToken, revokeToken)", patterns: ['/v1/acl/*rest', '/v1/agent/token/*rest'] },
  { feature: 'User events', patterns: ['/v1/event/*rest'] },
  { feature: 'Snapshots', patterns: ['/v1/snapshot'] },
  { feature: 'Transactions', patterns: ['/v1/txn'] },
  { feature: 'Operator endpoints (Raft, autopilot, keyring, license)', patterns: ['/v1/operator/*rest'] },
  { feature: 'Network coordinates', patterns: ['/v1/coordinate/*rest'] },
  { feature: 'Configuration entries (service defaults, routers, splitters)', patterns: ['/v1/config', '/v1/config/*rest'] },
  { feature: 'Cluster peering', patterns: ['/v1/peering/*rest', '/v1/peerings'] },
  {
    feature: 'Namespaces and admin partitions (Consul Enterprise)',
    patterns: ['/v1/namespace/*rest', '/v1/namespaces', '/v1/partition/*rest', '/v1/partitions'],
  },
  { feature: 'Catalog writes (register through /v1/agent/service/register)', patterns: ['/v1/catalog/register', '/v1/catalog/deregister'] },
  {
    feature: 'Gossip cluster membership and agent administration',
    patterns: [
      '/v1/agent/members',
      '/v1/agent/join/*rest',
      '/v1/agent/leave',
      '/v1/agent/force-leave/*rest',
      '/v1/agent/reload',
      '/v1/agent/maintenance',
      '/v1/agent/monitor',
      '/v1/agent/metrics',
      '/v1/agent/host',
    ],
  },
];

const METHODS: readonly Method[] = ['GET', 'PUT', 'POST', 'DELETE'];

export const unsupportedRoutes: RouteModule = () =>
  UNSUPPORTED.flatMap(({ feature, patterns }) =>
    patterns.flatMap((pattern) =>
      METHODS.map((method): Route => ({
        method,
        pattern,
        scope: 'READ',
        handle: () => {
          throw new ConsulError(501, `Not supported by Switchboard: ${feature}. See docs/consul.md.`);
        },
      })),
    ),
  );
