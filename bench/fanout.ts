import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { residentBytes, setConfig, startServer } from './support.js';

export interface FanoutResult {
  subscribers: number;
  /** From the setConfig call until the last subscriber had the change (median of the rounds). */
  lastReceivedMs: number;
  firstReceivedMs: number;
  /** Server resident memory added per connected subscriber. */
  bytesPerSubscriber: number;
}

const ROUNDS = 5;

/** Measures 4 (fan-out): one change delivered to `subscribers` WebSocket subscribers of one server. */
export async function runFanout(options: { databaseUrl: string; subscribers: number }): Promise<FanoutResult> {
  const server = await startServer({
    DATABASE_URL: options.databaseUrl,
    SWITCHBOARD_HEALTH_WORKER: 'false',
    SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_TOKEN: String(options.subscribers + 10),
  });
  const key = `bench.fanout${options.subscribers}`;
  const root = new URL('..', import.meta.url).pathname;
  // Let the server settle before its baseline.
  await setConfig(server.url, key, 0);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const baseline = residentBytes(server.pid);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/load/subscribers.ts', JSON.stringify({ url: server.url.replace(/^http/, 'ws'), count: options.subscribers, key })],
    {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('subscriber process ended');
    return line.value;
  };
  try {
    if ((await nextLine()) !== 'connected') throw new Error('subscriber process did not connect');

    const change = async (timeoutMs: number) => {
      const begin = performance.timeOrigin + performance.now();
      const version = await setConfig(server.url, key, { at: begin });
      child.stdin!.write(`expect ${version} ${timeoutMs}\n`);
      const receipt = JSON.parse(await nextLine()) as { first: number; last: number; received: number };
      return { ...receipt, begin };
    };
    // Subscriptions start a moment after their connections: change until every one hears it.
    for (let attempt = 0; (await change(3_000)).received < options.subscribers; attempt++) {
      if (attempt === 10) throw new Error('not every subscriber received a change');
    }
    const memory = residentBytes(server.pid) - baseline;

    const rounds: { first: number; last: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const receipt = await change(10_000);
      if (receipt.received < options.subscribers) throw new Error(`${receipt.received} of ${options.subscribers} received the change`);
      rounds.push({ first: receipt.first - receipt.begin, last: receipt.last - receipt.begin });
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    return {
      subscribers: options.subscribers,
      lastReceivedMs: median(rounds.map((round) => round.last)),
      firstReceivedMs: median(rounds.map((round) => round.first)),
      bytesPerSubscriber: memory / options.subscribers,
    };
  } finally {
    child.stdin!.write('exit\n');
    await new Promise((resolve) => child.once('exit', resolve));
    await server.stop();
  }
}
