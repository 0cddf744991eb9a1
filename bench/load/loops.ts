/**
 * Closed-loop load: `concurrency` loops each run `operation` back to back for
 * `seconds`, recording every latency. Used by the load-generator processes.
 */
export interface LoopResult {
  operations: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export async function runLoops(concurrency: number, seconds: number, operation: (loop: number, iteration: number) => Promise<void>): Promise<LoopResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      for (let iteration = 0; performance.now() < deadline; iteration++) {
        const begin = performance.now();
        try {
          await operation(loop, iteration);
          latencies.push(performance.now() - begin);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  return { operations: latencies.length, errors, seconds: elapsed, perSecond: latencies.length / elapsed, p50Ms: at(50), p99Ms: at(99) };
}

/** Reads the load generator's parameters (a JSON argument) and prints its result as JSON. */
export async function main<P>(run: (params: P) => Promise<unknown>): Promise<void> {
  const params = JSON.parse(process.argv[2] ?? '{}') as P;
  const result = await run(params);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
