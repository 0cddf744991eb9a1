import { parse } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { EventsDocument, LatestEventIdDocument, SwitchboardRequestError, type ComponentInput, type SwitchboardClient } from '@switchboard/client';
import { findInErrorChain, findSwitchboardError } from '@switchboard/contracts';
import type { Plan } from './plan.js';

/**
 * `switchboard apply`: the plan's writes as aliased fields of one mutation (several when the server's
 * alias limit would refuse one), in the plan's order, then the events they caused.
 *
 * GraphQL runs a mutation's fields one after another and stops at the first that fails (every field
 * here is non-null, so the failure nulls the whole answer): an error's `path` names the refused field,
 * those before it were applied, it and those after were not. The server keeps that order on its JIT
 * path too (src/server/jit.ts, isSerialMutation). Nothing is claimed that the answer does not show: a
 * request whose answer never came leaves its steps `unknown`.
 */

export type Step =
  | { kind: 'register'; action: 'add' | 'change'; id: string; input: ComponentInput }
  | { kind: 'unregister'; id: string }
  | { kind: 'setDefault'; key: string; value: unknown };

export interface AppliedEvent {
  id: string;
  type: string;
  /** The component id or config key it is about. */
  subject: string;
  timestamp: string;
}

export interface ApplyReport {
  applied: Step[];
  /** Refused, or after the refused one: not written. */
  notApplied: Step[];
  /** Sent, but no answer came back (the connection failed): written or not, a `plan` tells. */
  unknown: Step[];
  /**
   * Why it stopped; `outcome` is the server's word on an UNAVAILABLE write ("not_applied", "unknown"). `step`
   * is the step the error names (refused, or in `unknown` when its own write may have happened).
   */
  refusal: { step: Step | null; code: string; message: string; outcome?: string } | null;
  events: AppliedEvent[];
  /** Set when the events could not be read after it stopped (the database away): the lists above still hold. */
  eventsError?: string;
}

/**
 * Below the server's default alias limit (SWITCHBOARD_MAX_ALIASES, 100) and its token limit: each step
 * costs about 15 tokens of the 10,000 allowed.
 */
export const BATCH_SIZE = 50;

/** The plan's writes in order: registrations (dependencies first), removals (dependents first), then config defaults. */
export function stepsOf(plan: Plan): Step[] {
  const steps: Step[] = [];
  for (const component of plan.components) {
    if (component.action === 'remove') steps.push({ kind: 'unregister', id: component.id });
    else steps.push({ kind: 'register', action: component.action, id: component.id, input: component.input });
  }
  // Last: a key someone set since the plan was read is refused (CONFLICT), and nothing else waits on it.
  for (const entry of plan.config) if (entry.action === 'set') steps.push({ kind: 'setDefault', key: entry.key, value: entry.default });
  return steps;
}

export interface ApplyOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function applySteps(client: SwitchboardClient, steps: readonly Step[], options: ApplyOptions = {}): Promise<ApplyReport> {
  const report: ApplyReport = { applied: [], notApplied: [], unknown: [], refusal: null, events: [] };
  if (steps.length === 0) return report;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const { latestEventId: before } = await client.request(LatestEventIdDocument, {});
  options.onProgress?.(0, steps.length);
  for (let start = 0; start < steps.length; start += batchSize) {
    const batch = steps.slice(start, start + batchSize);
    const { document, variables } = batchMutation(batch);
    try {
      await client.request(document, variables);
      report.applied.push(...batch);
    } catch (error) {
      const outcome = failedAt(error, batch.length);
      const unknownEnd = outcome.appliedCount + outcome.unknownCount;
      report.applied.push(...batch.slice(0, outcome.appliedCount));
      report.unknown.push(...batch.slice(outcome.appliedCount, unknownEnd));
      report.notApplied.push(...batch.slice(unknownEnd), ...steps.slice(start + batchSize));
      report.refusal = {
        step: outcome.refusedIndex === null ? null : batch[outcome.refusedIndex]!,
        code: outcome.code,
        message: outcome.message,
        ...(outcome.outcome ? { outcome: outcome.outcome } : {}),
      };
      break;
    }
    options.onProgress?.(Math.min(start + batchSize, steps.length), steps.length);
  }
  try {
    report.events = await eventsOf(client, before, report.applied.concat(report.unknown));
  } catch (error) {
    // Stopped by the same outage, most likely: the report of what was written matters more than its events.
    if (!report.refusal) throw error;
    report.eventsError = error instanceof Error ? error.message : String(error);
  }
  return report;
}

/** One mutation with a field per step, `s0`, `s1`…; inputs go as variables (a literal would cost the token limit). */
function batchMutation(batch: readonly Step[]): {
  document: TypedDocumentNode<Record<string, unknown>, Record<string, unknown>>;
  variables: Record<string, unknown>;
} {
  const definitions: string[] = [];
  const fields: string[] = [];
  const variables: Record<string, unknown> = {};
  batch.forEach((step, index) => {
    const alias = `s${index}`;
    switch (step.kind) {
      case 'register':
        definitions.push(`$${alias}: ComponentInput!`);
        fields.push(`${alias}: registerComponent(input: $${alias}) { id }`);
        variables[alias] = step.input;
        break;
      case 'unregister':
        definitions.push(`$${alias}: ID!`);
        fields.push(`${alias}: unregisterComponent(id: $${alias})`);
        variables[alias] = step.id;
        break;
      case 'setDefault':
        // expectedVersion 0: "must not exist". A value set since the plan was read is a CONFLICT, never overwritten.
        definitions.push(`$${alias}k: String!`, `$${alias}v: JSON!`);
        fields.push(`${alias}: setConfig(key: $${alias}k, value: $${alias}v, expectedVersion: 0) { version }`);
        variables[`${alias}k`] = step.key;
        variables[`${alias}v`] = step.value;
        break;
    }
  });
  const text = `mutation Apply(${definitions.join(', ')}) {\n  ${fields.join('\n  ')}\n}`;
  return { document: parse(text) as TypedDocumentNode<Record<string, unknown>, Record<string, unknown>>, variables };
}

interface Failure {
  /** Steps of the batch that were written before the failure. */
  appliedCount: number;
  /** Steps after those whose fate the answer does not tell (then the rest of the batch was not written). */
  unknownCount: number;
  refusedIndex: number | null;
  code: string;
  message: string;
  outcome?: string;
}

/**
 * Where in a batch a failed request stopped (see the module comment). An UNAVAILABLE answer carries the
 * server's `outcome`: "not_applied" is believed; "unknown" (a COMMIT was sent and its answer lost), or
 * UNAVAILABLE with no outcome, makes those steps unknown rather than claimed either way.
 */
function failedAt(error: unknown, size: number): Failure {
  if (error instanceof SwitchboardRequestError) {
    const located = error.errors.find((entry) => typeof entry.path?.[0] === 'string' && /^s\d+$/.test(entry.path[0]));
    const first = located ?? error.errors[0];
    const code = String(first?.extensions?.['code'] ?? error.code ?? 'FAILED');
    const outcome = typeof first?.extensions?.['outcome'] === 'string' ? first.extensions['outcome'] : undefined;
    const mayHaveWritten = outcome === 'unknown' || (code === 'UNAVAILABLE' && outcome === undefined);
    const base = { code, ...(outcome ? { outcome } : {}) };
    if (located) {
      const index = Number((located.path![0] as string).slice(1));
      // An error below the field (path ["s3", "id"]) comes after its write: that step was applied.
      if (located.path!.length > 1) return { ...base, appliedCount: index + 1, unknownCount: 0, refusedIndex: null, message: located.message };
      // GraphQL ran no field after it: only its own write may have happened.
      return { ...base, appliedCount: index, unknownCount: mayHaveWritten ? 1 : 0, refusedIndex: index, message: located.message };
    }
    // No path: refused before any field ran (validation, authentication), or answered at the request's
    // deadline with the whole batch's outcome; no error at all is an HTTP failure without an answer.
    if (error.errors.length > 0) return { ...base, appliedCount: 0, unknownCount: mayHaveWritten ? size : 0, refusedIndex: null, message: error.message };
    return { appliedCount: 0, unknownCount: size, refusedIndex: null, code: 'FAILED', message: error.message };
  }
  const known = findSwitchboardError(error);
  // Refused connections sent nothing; any other lost connection may have carried the request.
  const neverSent = findInErrorChain(error, (current) => ((current as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? true : undefined)) === true;
  return {
    appliedCount: 0,
    unknownCount: neverSent ? 0 : size,
    refusedIndex: null,
    code: known?.code ?? 'FAILED',
    message: error instanceof Error ? error.message : String(error),
  };
}

/** The component and config events after `before` that are about the steps' subjects, oldest first. */
async function eventsOf(client: SwitchboardClient, before: string, steps: readonly Step[]): Promise<AppliedEvent[]> {
  const components = new Set(steps.flatMap((step) => (step.kind === 'setDefault' ? [] : [step.id])));
  const keys = new Set(steps.flatMap((step) => (step.kind === 'setDefault' ? [step.key] : [])));
  const found: AppliedEvent[] = [];
  const page = 1000;
  let after = before;
  for (;;) {
    const { events } = await client.request(EventsDocument, { after, first: page, types: ['component.*', 'config.changed'] });
    for (const event of events) {
      const data = (event.data ?? {}) as { id?: unknown; key?: unknown; environment?: unknown };
      if (event.type.startsWith('component.') && typeof data.id === 'string' && components.has(data.id)) {
        found.push({ id: event.id, type: event.type, subject: data.id, timestamp: event.timestamp });
      } else if (event.type === 'config.changed' && typeof data.key === 'string' && keys.has(data.key) && data.environment == null) {
        found.push({ id: event.id, type: event.type, subject: data.key, timestamp: event.timestamp });
      }
    }
    if (events.length < page) return found;
    after = events.at(-1)!.id;
  }
}
