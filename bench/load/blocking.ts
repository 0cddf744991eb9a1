import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

/**
 * `count` Consul blocking queries (`?index=N&wait=5m`) held open on one URL, each on its own
 * connection, in a process of their own. Prints "blocked" once every request is sent and
 * none has answered for a second; then, for the stdin line `expect <timeoutMs>`, prints when
 * the first and the last answered (epoch milliseconds, comparable across processes) and how
 * many did, with an index above N.
 */
const { url, count, index } = JSON.parse(process.argv[2] ?? '{}') as { url: string; count: number; index: string };
const now = () => performance.timeOrigin + performance.now();
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const answeredAt: number[] = [];
let early = 0;
let waiting: (() => void) | undefined;

for (let i = 0; i < count; i++) {
  const target = new URL(url);
  target.searchParams.set('index', index);
  target.searchParams.set('wait', '5m');
  const req = request(target, { agent }, (res) => {
    res.resume();
    res.once('end', () => {
      if (Number(res.headers['x-consul-index']) <= Number(index)) early += 1;
      answeredAt.push(now());
      if (answeredAt.length === count) waiting?.();
    });
  });
  req.on('error', (error) => console.error('blocking request failed', error.message));
  req.end();
  // A few at a time, so the server is not asked to accept a thousand connections at once.
  if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
}
await new Promise((resolve) => setTimeout(resolve, 1_000));
if (answeredAt.length > 0) throw new Error(`${answeredAt.length} blocking queries answered before any change`);
console.log('blocked');

for await (const line of createInterface({ input: process.stdin })) {
  const [command, timeoutMs] = line.split(' ');
  if (command === 'expect') {
    await new Promise<void>((resolve) => {
      if (answeredAt.length >= count) return resolve();
      waiting = resolve;
      setTimeout(resolve, Number(timeoutMs));
    });
    console.log(JSON.stringify({ first: Math.min(...answeredAt), last: Math.max(...answeredAt), answered: answeredAt.length, early }));
  } else if (command === 'exit') {
    agent.destroy();
    process.exit(0);
  }
}
