import { EtcdRegistry } from '@switchboard/etcd';
import { describe } from 'vitest';
import { describeRegistryConformance } from '../../sdk/test/support/conformance.js';
import { etcdMissing } from './support/etcd-server.js';
import { useEtcd } from './support/registries.js';

/** The suite every backend runs, over a real etcd. */
const missing = etcdMissing();
if (missing) {
  console.warn(`etcd conformance skipped: ${missing}`);
  describe.skip('Registry conformance: etcd', () => {});
} else {
  const etcd = useEtcd();
  describeRegistryConformance('etcd', {
    create: async () => new EtcdRegistry({ endpoints: etcd.server.endpoint, dialTimeout: '2s' }),
    registers: true,
    config: true,
    events: true,
    components: true,
  });
}
