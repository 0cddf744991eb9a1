import { SwitchboardError, type SwitchboardClient } from '@switchboard/client';
import type { GlobalOptions } from '../context.js';
import { CommandFailure } from '../exit-codes.js';
import { color } from '../output.js';
import { withClient } from './session.js';

/** The longest wait between reconnect attempts: a restarted server is found within this of its start. */
const MAX_RECONNECT_WAIT_MS = 5_000;

/**
 * Follows a subscription (`config watch`, `events tail`) until Ctrl-C or SIGTERM, handing each payload to
 * `onItem`. A lost connection is retried for as long as it takes (a server restart, a deploy), and the
 * client resumes after the last event it received, so nothing is lost or repeated. A signal ends it
 * cleanly: the subscription is completed, the socket closed, and the process exits 0.
 */
export async function follow<T>(
  options: GlobalOptions,
  open: (client: SwitchboardClient) => AsyncIterableIterator<T>,
  onItem: (item: T) => void,
): Promise<void> {
  let stopped = false;
  let stream: AsyncIterableIterator<T> | undefined;
  // A reconnect wait in progress when the signal comes: ended at once, not slept out.
  let wakeEarly: (() => void) | undefined;
  const stop = () => {
    if (stopped) process.exit(130); // a second Ctrl-C: the operator wants out now
    stopped = true;
    wakeEarly?.();
    void stream?.return?.();
  };
  // `tail | head -3`: the reader left; stop as a signal would rather than die on EPIPE.
  const onStdoutError = (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? stop() : undefined);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.on('error', onStdoutError);

  const reconnectWait = (retries: number) =>
    new Promise<void>((resolve) => {
      const ms = Math.min(MAX_RECONNECT_WAIT_MS, 250 * 2 ** retries) * (0.75 + Math.random() / 2);
      const what = retries === 0 ? 'connection lost' : 'still unreachable';
      process.stderr.write(`${color.yellow(what)}: reconnecting in ${(ms / 1000).toFixed(1)}s (attempt ${retries + 1})\n`);
      const timer = setTimeout(resolve, ms);
      wakeEarly = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  try {
    await withClient(
      options,
      async (client) => {
        stream = open(client);
        try {
          for await (const item of stream) {
            if (stopped) break;
            onItem(item);
          }
        } catch (error) {
          if (!stopped) throw refusal(error);
        }
      },
      { retryAttempts: Number.POSITIVE_INFINITY, retryWait: reconnectWait },
    );
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', onStdoutError);
  }
  if (!stopped) throw new CommandFailure('the registry ended the subscription');
}

/**
 * The server refuses a subscription's connection by closing it (graphql-ws): 4401 without a valid token,
 * 4403 without the scope. Those become the codes a query's refusal has, so they exit 6 as a query would.
 */
function refusal(error: unknown): unknown {
  const { code, reason } = (error ?? {}) as { code?: unknown; reason?: unknown };
  const why = typeof reason === 'string' && reason !== '' ? `: ${reason}` : '';
  if (code === 4401) return new SwitchboardError('UNAUTHENTICATED', `the registry refused the connection (4401${why}); check --token`);
  if (code === 4403) return new SwitchboardError('FORBIDDEN', `the registry refused the subscription (4403${why})`);
  return error;
}
