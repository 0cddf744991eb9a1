import { describeRegistryConformance, type PlacedInstance } from '../../sdk/test/support/conformance.js';
import { endpointSlice, pod, useStandIn } from './support/cluster.js';

/**
 * The shared suite over the Kubernetes backend. It registers nothing (the platform does), so instances are
 * put in place as a cluster would: a pod, and an EndpointSlice naming it. The EndpointSlice controller puts
 * endpoints whose ports differ in slices of their own, so each placed instance gets one. Instance ids are the
 * pods' names here (`instanceIds: 'pod'`), which is what the suite compares.
 */
const cluster = useStandIn();
const namespace = 'conformance';

describeRegistryConformance('kubernetes', {
  create: async () => cluster.registry({ namespace, instanceIds: 'pod' }),
  registers: false,
  place: {
    async add(instance: PlacedInstance) {
      cluster.standIn.apply('pods', pod(instance.id, { namespace, ip: instance.address }));
      cluster.standIn.apply(
        'endpointslices',
        endpointSlice(`${instance.id}-slice`, {
          namespace,
          service: instance.name,
          ports: [{ name: 'http', port: instance.port }],
          endpoints: [{ address: instance.address, pod: instance.id }],
        }),
      );
    },
    async remove(instance: PlacedInstance) {
      cluster.standIn.remove('endpointslices', namespace, `${instance.id}-slice`);
      cluster.standIn.remove('pods', namespace, instance.id);
    },
  },
  config: false,
  events: false,
  components: false,
});
