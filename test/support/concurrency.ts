import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { EventsDocument, LatestEventIdDocument, OnEventsDocument, SwitchboardRequestError, type SwitchboardClient } from '@switchboard/client';
import { eventually } from './wait.js';
import type { ServerPairFixture } from './nodes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How one write ended: its answer, or the error code it got. */
export type Outcome<T> = { ok: true; value: T; writer: number } | { ok: false; code: string; message: string; writer: number };

/** Requests in flight at once across both servers: enough that writers pile up on the same rows. */
export const IN_FLIGHT = 48;

/**
 * Runs `count` writers, `IN_FLIGHT` at a time, writer i on `clients[i % clients.length]`
 * (so half go to each server), and returns every outcome in writer order. A GraphQL
 * error is an outcome; anything else (a dropped connection) is rethrown.
 */
export async function writers<T>(
  count: number,
  clients: readonly SwitchboardClient[],
  write: (client: SwitchboardClient, i: number) => Promise<T>,
): Promise<Outcome<T>[]> {
  const outcomes: Outcome<T>[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(IN_FLIGHT, count) }, async () => {
      while (next < count) {
        const i = next++;
        try {
          outcomes[i] = { ok: true, value: await write(clients[i % clients.length]!, i), writer: i };
        } catch (error) {
          if (!(error instanceof SwitchboardRequestError)) throw error;
          outcomes[i] = { ok: false, code: error.code ?? `HTTP ${error.status}`, message: error.message, writer: i };
        }
      }
    }),
  );
  return outcomes;
}

/** The answers of the writes that succeeded. */
export const acknowledged = <T>(outcomes: readonly Outcome<T>[]) => outcomes.flatMap((outcome) => (outcome.ok ? [outcome] : []));

/** Fails, listing them, if any write got an error whose code is not in `allowed`. */
export function expectOnlyErrors(outcomes: readonly Outcome<unknown>[], allowed: readonly string[] = []): void {
  // Counted by code and message, so a failure reads "INTERNAL: Unexpected error. × 226".
  const unexpected = new Map<string, number>();
  for (const outcome of outcomes) {
    if (outcome.ok || allowed.includes(outcome.code)) continue;
    const key = `${outcome.code}: ${outcome.message}`;
    unexpected.set(key, (unexpected.get(key) ?? 0) + 1);
  }
  expect(Object.fromEntries(unexpected), `errors other than ${allowed.join(', ') || 'none'}`).toEqual({});
}

export type LoggedEvent = { id: string; type: string; data: Record<string, unknown> };

/** Every event after `after` (the `events` query, paged), optionally of some types. */
export async function eventsAfter(client: SwitchboardClient, after: string, types?: string[]): Promise<LoggedEvent[]> {
  const all: LoggedEvent[] = [];
  let cursor = after;
  for (;;) {
    const { events } = await client.request(EventsDocument, { after: cursor, first: 1000, types });
    all.push(...events.map((event) => ({ id: event.id, type: event.type, data: event.data as Record<string, unknown> })));
    if (events.length < 1000) return all;
    cursor = events.at(-1)!.id;
  }
}

/** Event ids as numbers, asserted strictly increasing. */
export function expectAscending(events: readonly { id: string }[]): void {
  const ids = events.map((event) => Number(event.id));
  const out = ids.findIndex((id, i) => i > 0 && id <= ids[i - 1]!);
  expect(out, `event ${ids[out]} comes after ${ids[out - 1]}`).toBe(-1);
}

/**
 * A live `events` subscriber, started before a load. A server follows the log by
 * asking for events after the newest it has seen; an id that became visible after a
 * higher one would be skipped. So the subscriber's list must equal the log: every
 * id once, in id order (commit order), none missing.
 */
export function watchEvents(client: SwitchboardClient, after: string) {
  const received: LoggedEvent[] = [];
  const stream = client.subscribe(OnEventsDocument, { after });
  let failure: unknown;
  const reading = (async () => {
    try {
      for await (const { events } of stream) received.push({ id: events.id, type: events.type, data: events.data as Record<string, unknown> });
    } catch (error) {
      failure = error;
    }
  })();
  return {
    received,
    /** Waits until the subscriber has as many events as the log, then asserts they are the log. */
    async expectToMatch(log: readonly LoggedEvent[]): Promise<void> {
      const lastId = log.at(-1)?.id;
      await eventually(() => (failure !== undefined || received.length >= log.length ? true : undefined), 20_000).catch(() => undefined);
      if (failure !== undefined) throw failure;
      // Later events (a sweep, another test's tail) may follow; the load's part must be the log.
      expect(
        received.slice(0, log.length).map((event) => event.id),
        `subscriber vs log (up to ${lastId})`,
      ).toEqual(log.map((event) => event.id));
    },
    async stop(): Promise<void> {
      await stream.return?.();
      await reading;
    },
  };
}

/** Events whose data names `id` (service, component, token, config events all carry it as `id` or `key`). */
/**
 * The writers' view of a server pair: a client on each server (`both`), and for each test a live
 * `events` subscriber on the second server from the test's start, for `logSinceStart` to check
 * the log against.
 */
export function useWatchedLog(servers: ServerPairFixture, token: string) {
  const both: SwitchboardClient[] = [];
  let start = '0';
  let watcher: ReturnType<typeof watchEvents> | undefined;

  /** Watches (again) from the newest event: what came before is not the test's. */
  async function watchFromNow(): Promise<void> {
    await watcher?.stop();
    start = (await both[0]!.request(LatestEventIdDocument)).latestEventId;
    watcher = watchEvents(servers.clients.create(servers.nodes[1]!.url, token), start);
  }

  /** The log since the test (or its last watchFromNow) began; asserts ids ascend and the live subscriber saw exactly it. */
  async function logSinceStart(): Promise<LoggedEvent[]> {
    const log = await eventsAfter(both[0]!, start);
    expectAscending(log);
    await watcher!.expectToMatch(log);
    return log;
  }

  beforeAll(() => {
    both.push(...servers.nodes.map((node) => servers.clients.create(node.url, token)));
  });
  beforeEach(watchFromNow);
  afterEach(async () => {
    await watcher?.stop();
    watcher = undefined;
  });
  return { both, watchFromNow, logSinceStart };
}

export const about = (events: readonly LoggedEvent[], id: string) => events.filter((event) => event.data['id'] === id || event.data['key'] === id);

/** A running `switchboard worker` process (health-check pool only). */
export interface WorkerProcess {
  child: ChildProcess;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `switchboard worker` (the CLI, through tsx) and waits until its pool runs. */
export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', SWITCHBOARD_SELF_REGISTER: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60s: ${stderr}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('health-check worker running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before running: ${stderr}`));
    });
  });
  return {
    child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
