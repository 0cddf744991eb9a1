import type { ServiceRow } from '../../db/schema.js';

/** A registered service instance, as the domain hands it out. */
export type ServiceInstance = ServiceRow;
