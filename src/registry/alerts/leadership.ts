/** The role the alert evaluator leads: one process at a time evaluates rules, across all servers. */
export const EVALUATOR_ROLE = 'alert-evaluator';
