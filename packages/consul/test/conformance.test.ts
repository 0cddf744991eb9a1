import { ConsulRegistry } from '@switchboard/consul';
import { describeRegistryConformance } from '../../sdk/test/support/conformance.js';
import { useRegistryNode } from '../../../test/support/nodes.js';

/** The shared suite over a ConsulRegistry, against Switchboard's own Consul-compatible API (/v1 on the node's port). */
const TOKEN = 'consul-conformance-admin-token-0123456789';
const fixture = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: TOKEN });

describeRegistryConformance('consul', {
  create: async () => new ConsulRegistry({ address: `127.0.0.1:${fixture.node.port}`, token: TOKEN, onWarning: () => {} }),
  registers: true,
  config: true,
  events: true,
  components: true,
});
