/** The `source` of every event the registry itself records (clients name their own in publishEvent). */
export const EVENT_SOURCE = 'switchboard';
