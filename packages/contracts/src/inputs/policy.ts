import { z } from 'zod';
import { serviceNameSchema } from './service.js';

/** The most instances a policy may ask for (a bound, not a plan: far above any real fleet). */
export const POLICY_MAX_INSTANCES = 100_000;

const bound = z
  .number()
  .int('must be a whole number')
  .min(0, 'must not be negative')
  .max(POLICY_MAX_INSTANCES, `must be at most ${POLICY_MAX_INSTANCES}`)
  .nullish();

/** A per-service scaling policy: how many instances the service should have (either bound optional). */
export const servicePolicySchema = z
  .object({ service: serviceNameSchema, minInstances: bound, maxInstances: bound })
  .refine((policy) => policy.minInstances == null || policy.maxInstances == null || policy.minInstances <= policy.maxInstances, {
    message: 'must not be above maxInstances',
    path: ['minInstances'],
  });

export type ServicePolicyInput = z.input<typeof servicePolicySchema>;
