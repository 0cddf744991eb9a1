import { SwitchboardRegistry } from '@switchboard/sdk';
import { useRegistryNode } from '../../../test/support/nodes.js';
import { describeRegistryConformance } from './support/conformance.js';

/** The reference backend: the conformance suite over a Switchboard server. */
const fixture = useRegistryNode();

describeRegistryConformance('switchboard', {
  create: async () => new SwitchboardRegistry(fixture.clients.create(fixture.node.url)),
  registers: true,
  config: true,
  events: true,
  components: true,
});
