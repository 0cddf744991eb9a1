import { badInput, SwitchboardError, type ServiceDefinitionInput } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { assertHasScope, type Principal } from '../access/principal.js';
import type { CheckPolicy } from '../health/definition.js';
import type { ServiceInstance } from '../instances/model.js';
import type { SessionBinding } from './ephemeral.js';
import { parseRegistration, writeRegistrations, type Registration, type WrittenRegistration } from './register.js';

/**
 * Instances one registerServices call takes at most. Its transaction holds every instance's row lock
 * until it commits, so a bigger call keeps other writers of those ids waiting longer. A thousand plain
 * definitions are about 150 KB of request. More instances: several calls.
 */
export const MAX_REGISTRATIONS_PER_CALL = 1_000;

/**
 * Registers many instances at once, all or nothing: one transaction through writeRegistrations (the
 * path every registration takes), so each instance is written and gets its events exactly as
 * registerService's, in input order, and the answer is the instances in input order.
 *
 * Each input is validated, and checked against the principal, as registerService's; the first refusal
 * in input order (a bad input, a name the token may not write, an id it may not take over, checked
 * under the row lock) refuses the whole call, naming the input (`inputs[3].port: …`), and nothing is
 * written. An id may appear once per call.
 *
 * It runs in the caller's request, not in the RegistrationWriter's group commit: it is a batch already.
 * So runTransaction sees the request's signal (an abandoned call is not applied) and appendEvents tells
 * the caller's write context its newest event id (the answer waits until this server's catalog has it).
 */
export async function registerServices(
  db: Db,
  inputs: readonly ServiceDefinitionInput[],
  policy: CheckPolicy,
  principal: Principal,
  session?: SessionBinding,
): Promise<ServiceInstance[]> {
  assertHasScope(principal, 'WRITE', 'register services');
  if (inputs.length > MAX_REGISTRATIONS_PER_CALL) {
    throw badInput(`inputs: at most ${MAX_REGISTRATIONS_PER_CALL} instances per call, got ${inputs.length}; register them in several calls.`, {
      field: 'inputs',
      max: MAX_REGISTRATIONS_PER_CALL,
    });
  }
  const registrations = inputs.map((input, index) => {
    try {
      return parseRegistration(input, policy, principal, session);
    } catch (error) {
      throw atInput(index, error);
    }
  });
  assertDistinctIds(registrations);
  if (registrations.length === 0) return [];

  const answers = await runTransaction(db, async (tx) => {
    const written = await writeRegistrations(tx, registrations);
    // A refusal under a row lock (another team's id) rolls back the others too.
    const refused = written.findIndex((answer) => answer instanceof SwitchboardError);
    if (refused >= 0) throw atInput(refused, written[refused]);
    return written as WrittenRegistration[];
  });
  return answers.map((answer) => answer.instance);
}

function assertDistinctIds(registrations: readonly Registration[]): void {
  const seen = new Map<string, number>();
  registrations.forEach(({ definition: { id } }, index) => {
    const first = seen.get(id);
    if (first !== undefined) {
      throw badInput(`inputs[${index}].id: "${id}" is also the id of inputs[${first}] (an id defaults to the name); an instance may appear once per call.`, {
        field: `inputs[${index}].id`,
      });
    }
    seen.set(id, index);
  });
}

interface Issue {
  field: string;
  message: string;
}

/** The error one input was refused with, its message and fields prefixed with the input's place (`inputs[3].port: …`). */
function atInput(index: number, error: unknown): unknown {
  if (!(error instanceof SwitchboardError)) return error;
  const at = `inputs[${index}]`;
  const under = (field: string) => (field === '(input)' ? at : `${at}.${field}`);
  const details = { ...error.details, index };
  const issues = error.details?.['issues'] as Issue[] | undefined;
  if (Array.isArray(issues) && issues.length > 0) {
    const placed = issues.map((issue) => ({ field: under(issue.field), message: issue.message }));
    return new SwitchboardError(error.code, `${placed.map((issue) => `${issue.field}: ${issue.message}`).join('; ')}.`, { ...details, issues: placed });
  }
  const field = error.details?.['field'];
  if (typeof field === 'string') return new SwitchboardError(error.code, `${under(field)}: ${error.message}`, { ...details, field: under(field) });
  return new SwitchboardError(error.code, `${at}: ${error.message}`, details);
}
