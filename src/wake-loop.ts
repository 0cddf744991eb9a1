/** setTimeout holds at most 2^31-1 ms; the waits here are far shorter, but a computed one is never trusted. */
const MAX_WAIT_MS = 2 ** 31 - 1;

export interface WakeLoopSteps {
  /**
   * One round of work. True: there is more to do at once (a batch came back full), so the next
   * round starts without waiting. Failures are the round's own to log: it must not throw.
   */
  round: () => Promise<boolean | void>;
  /** How long to wait before the next round, unless woken first; asked only when no wake is pending. */
  waitMs: () => number | Promise<number>;
}

/**
 * Runs rounds of work until stopped, waiting between them for `waitMs` or until `wake()`,
 * whichever comes first. A wake during a round is not lost: the wait after it is skipped. `stop()`
 * wakes a waiting loop and resolves once the round in progress has finished.
 * (src/periodic.ts is the fixed-interval schedule, for work nothing needs to hurry.)
 */
export class WakeLoop {
  private stopping = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly steps: WakeLoopSteps) {}

  /** True once `stop()` was called: a long round may check it to end early. */
  get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Starts the next round now, or right after the one in progress. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (await this.steps.round()) continue;
      await this.sleep();
    }
  }

  private async sleep(): Promise<void> {
    if (this.stopping) return;
    if (this.woken) {
      this.woken = false;
      return;
    }
    const waitMs = await this.steps.waitMs();
    // Asking how long to wait may itself take a while (a query): a wake meanwhile counts.
    if (this.woken || this.stopping) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(Math.max(waitMs, 0), MAX_WAIT_MS));
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
    this.woken = false;
  }
}
