/** Calls under way through one or more ServiceClients: shutting down lets them finish. */
export class InFlightCalls {
  private readonly calls = new Set<Promise<unknown>>();

  track<T>(call: Promise<T>): Promise<T> {
    this.calls.add(call);
    const done = () => this.calls.delete(call);
    call.then(done, done);
    return call;
  }

  get size(): number {
    return this.calls.size;
  }

  /** Resolves once every call now under way has settled, or after `timeoutMs`; true when they all did. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.calls.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const settled = Promise.allSettled([...this.calls]).then(() => true);
    try {
      return await Promise.race([settled, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
