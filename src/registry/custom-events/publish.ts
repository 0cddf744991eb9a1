import { z } from 'zod';
import { jsonObject, parseInput, safeText } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { appendEvents } from '../../events/append.js';
import type { StoredEvent } from '../../events/types.js';
import { assertHasScope, type Principal } from '../access/index.js';

export interface EventInput {
  type: string;
  source: string;
  data?: unknown;
}

export const EventLimits = {
  typeLength: 128,
  sourceLength: 128,
  dataBytes: 64 * 1024,
  dataDepth: 32,
} as const;

/** Namespaces the registry writes itself; a client may not forge events in them. */
export const RESERVED_EVENT_PREFIXES = ['service.', 'component.', 'config.', 'health.', 'circuit.', 'token.', 'alert.', 'switchboard.'] as const;

const CUSTOM_TYPE = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)+$/;

const eventSchema = z.object({
  type: z
    .string()
    .max(EventLimits.typeLength, `must be at most ${EventLimits.typeLength} characters`)
    .regex(CUSTOM_TYPE, 'must be lower-case dotted words, like "deploy.finished"')
    .refine((type) => !RESERVED_EVENT_PREFIXES.some((prefix) => type.startsWith(prefix)), {
      message: `must not start with a namespace the registry reserves (${RESERVED_EVENT_PREFIXES.join(' ')})`,
    }),
  source: safeText(EventLimits.sourceLength).min(1, 'must not be empty'),
  data: jsonObject({ maxBytes: EventLimits.dataBytes, maxDepth: EventLimits.dataDepth }),
});

/** Appends a custom event (type validated, data size-capped) and returns it as stored. */
export async function publishEvent(db: Db, input: EventInput, principal: Principal): Promise<StoredEvent> {
  assertHasScope(principal, 'WRITE', 'publish events');
  const event = parseInput(eventSchema, input, 'event');
  return runTransaction(db, async (tx) => {
    const [stored] = await appendEvents(tx, [event]);
    return stored!;
  });
}
