import { createInterface } from 'node:readline';

/**
 * When each of `count` watchers first knew a key (an instance id, an etcd key), in epoch milliseconds
 * with sub-millisecond precision, comparable across processes. The watcher processes answer the bench
 * through it: "ready" once watching, then for each stdin line `expect <key> <timeoutMs>` how many
 * watchers knew the key and when the first and the last did; `exit` closes them.
 */
export class Arrivals {
  private readonly times = new Map<string, number[]>();
  private readonly waiting = new Map<string, () => void>();

  constructor(private readonly count: number) {}

  arrived(key: string): void {
    const times = this.times.get(key) ?? [];
    times.push(performance.timeOrigin + performance.now());
    this.times.set(key, times);
    if (times.length === this.count) this.waiting.get(key)?.();
  }

  async answer(close: () => Promise<void>): Promise<void> {
    console.log('ready');
    for await (const line of createInterface({ input: process.stdin })) {
      const [command, key = '', timeoutMs] = line.split(' ');
      if (command === 'expect') {
        await new Promise<void>((resolve) => {
          if ((this.times.get(key)?.length ?? 0) >= this.count) return resolve();
          this.waiting.set(key, resolve);
          setTimeout(resolve, Number(timeoutMs));
        });
        this.waiting.delete(key);
        const times = this.times.get(key) ?? [Number.NaN];
        console.log(JSON.stringify({ key, first: Math.min(...times), last: Math.max(...times), received: this.times.get(key)?.length ?? 0 }));
      } else if (command === 'exit') {
        await close();
        process.exit(0);
      }
    }
  }
}
