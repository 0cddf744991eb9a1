import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Inspector, memoryGrowth, perConnection, untilWebSockets, type MemoryGrowth } from './heap.js';
import { setConfig, startServer } from './support.js';

export interface FanoutResult {
  subscribers: number;
  /** From the setConfig call until the last subscriber had the change (median of the rounds). */
  lastReceivedMs: number;
  firstReceivedMs: number;
  /** Server memory added per subscriber, measured after forced collections (see memoryGrowth). */
  memory: MemoryGrowth;
}

const ROUNDS = 5;

/**
 * Measures 4 (fan-out): one change delivered to `subscribers` WebSocket subscribers of one server, and the
 * server memory each costs: a warm-up round of `subscribers` connections is opened (every subscription
 * proved live) and closed, then the measured round is opened; memory is read through the server's
 * inspector after forced collections, before and with the round open. The server is the compiled one
 * (support.ts compiledServer), as in production. With BENCH_HEAP_SUMMARY set, the smallest size also
 * prints what a subscriber retains, by constructor (two heap snapshots compared).
 */
export async function runFanout(options: { databaseUrl: string; subscribers: number }): Promise<FanoutResult> {
  const server = await startServer(
    {
      DATABASE_URL: options.databaseUrl,
      SWITCHBOARD_HEALTH_WORKER: 'false',
      SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_TOKEN: String(options.subscribers + 10),
      SWITCHBOARD_MAX_CONNECTIONS: String(options.subscribers + 100),
    },
    ['--inspect=127.0.0.1:0'],
    { compiled: true },
  );
  const inspector = await Inspector.connect(server.inspectorUrl!, server.pid);
  const key = `bench.fanout${options.subscribers}`;
  try {
    await setConfig(server.url, key, 0);
    const cold = await inspector.memoryAfterGc();
    const warmUp = await openSubscribers(server.url, options.subscribers, key);
    const coldOpen = await inspector.memoryAfterGc();
    await warmUp.close();
    await untilWebSockets(server.url, 0);

    // A snapshot grows the process by far more than the connections do: taken before the baseline.
    const summarise = process.env['BENCH_HEAP_SUMMARY'] !== undefined && options.subscribers <= 2_000;
    const summaryBefore = summarise ? await inspector.heapSummary() : undefined;
    const before = await inspector.memoryAfterGc();
    const subscribers = await openSubscribers(server.url, options.subscribers, key);
    try {
      const after = await inspector.memoryAfterGc();
      if (summaryBefore) {
        const { top, bytes } = perConnection(summaryBefore, await inspector.heapSummary(), options.subscribers);
        console.log(`fan-out to ${options.subscribers}: heap snapshot growth ${bytes.toFixed(0)} B per subscriber; largest:\n  ${top.join('\n  ')}`);
      }

      const rounds: { first: number; last: number }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const receipt = await subscribers.change(10_000);
        if (receipt.received < options.subscribers) throw new Error(`${receipt.received} of ${options.subscribers} received the change`);
        rounds.push({ first: receipt.first - receipt.begin, last: receipt.last - receipt.begin });
      }
      const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      return {
        subscribers: options.subscribers,
        lastReceivedMs: median(rounds.map((round) => round.last)),
        firstReceivedMs: median(rounds.map((round) => round.first)),
        memory: memoryGrowth({ cold: [cold, coldOpen], warm: [before, after] }, options.subscribers),
      };
    } finally {
      await subscribers.close();
    }
  } finally {
    await inspector.close();
    await server.stop();
  }
}

/**
 * A bench/load/subscribers.ts process with `count` subscriptions, once every one has received a change
 * (subscriptions start a moment after their connections: it changes until every one hears it).
 */
async function openSubscribers(url: string, count: number, key: string) {
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load/subscribers.ts', JSON.stringify({ url: url.replace(/^http/, 'ws'), count, key })], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('subscriber process ended');
    return line.value;
  };
  const close = async () => {
    if (child.exitCode === null) child.stdin!.write('exit\n');
    await exited;
  };
  const change = async (timeoutMs: number) => {
    const begin = performance.timeOrigin + performance.now();
    const version = await setConfig(url, key, { at: begin });
    child.stdin!.write(`expect ${version} ${timeoutMs}\n`);
    const receipt = JSON.parse(await nextLine()) as { first: number; last: number; received: number };
    return { ...receipt, begin };
  };
  try {
    if ((await nextLine()) !== 'connected') throw new Error('subscriber process did not connect');
    for (let attempt = 0; (await change(3_000)).received < count; attempt++) {
      if (attempt === 10) throw new Error('not every subscriber received a change');
    }
  } catch (error) {
    child.kill();
    throw error;
  }
  return { change, close };
}
