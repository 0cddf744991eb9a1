import type { ServiceState } from '../generated/graphql';

/**
 * The four states in the order the registry judges them (the first that holds wins), with their
 * definitions as the schema's ServiceState describes them (a test keeps the two the same).
 */
export const STATES: { state: ServiceState; label: string; tone: string; definition: string }[] = [
  {
    state: 'ACTIVE',
    label: 'Active',
    tone: 'good',
    definition: 'Passing instances, none critical, and no change to their number within the window.',
  },
  {
    state: 'SCALING',
    label: 'Scaling',
    tone: 'info',
    definition: "Its instance count changed within the window, or is outside the service's minInstances/maxInstances policy.",
  },
  {
    state: 'HEALING',
    label: 'Healing',
    tone: 'warn',
    definition: 'Some instance is critical, or was critical within the window, or was removed within it for staying critical (deregisterCriticalServiceAfter).',
  },
  {
    state: 'DOWN',
    label: 'Down',
    tone: 'bad',
    definition: 'No passing instance (or none at all while its policy asks for at least one).',
  },
];

export const STATE_BY_NAME = new Map(STATES.map((entry) => [entry.state, entry]));
