/** Outlier ejection as Envoy does it: an instance that keeps failing is left out for a while. */
export interface OutlierOptions {
  /** Failures in a row that eject an instance (Envoy's consecutive_5xx); default 5, Infinity: off. */
  consecutiveFailures?: number;
  /** Failure share over `intervalMs` that ejects an instance (Envoy's failure_percentage); default 0.5, Infinity: off. */
  failureRatio?: number;
  /** Calls an instance needs in the interval before its failure share is judged; default 10. */
  minimumCalls?: number;
  /** Length of the window the failure share is measured over; also how fast the ejection multiplier decays. Default 10s. */
  intervalMs?: number;
  /** First ejection's length; the n-th is n times as long (decaying by one per quiet interval). Default 30s. */
  baseEjectionMs?: number;
  /** Longest ejection; default 300s. */
  maxEjectionMs?: number;
  /** Share (0..100) of the known instances that may be ejected at once; at least one may be. Default 10. */
  maxEjectionPercent?: number;
}

interface InstanceRecord {
  consecutiveFailures: number;
  windowStart: number;
  calls: number;
  failures: number;
  ejectedUntil: number;
  /** The ejection multiplier: ejections so far, less one per quiet interval since the last ended. */
  ejections: number;
}

export class OutlierDetector {
  private readonly options: Required<OutlierOptions>;
  private readonly records = new Map<string, InstanceRecord>();

  constructor(options: OutlierOptions = {}) {
    this.options = {
      consecutiveFailures: 5,
      failureRatio: 0.5,
      minimumCalls: 10,
      intervalMs: 10_000,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 10,
      ...options,
    };
  }

  /** Makes the instance count towards the cluster size that bounds ejections. */
  know(id: string, now = Date.now()): void {
    if (!this.records.has(id)) {
      this.records.set(id, { consecutiveFailures: 0, windowStart: now, calls: 0, failures: 0, ejectedUntil: 0, ejections: 0 });
    }
  }

  /** Forgets instances that are gone, so they no longer count towards the cluster size. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.records.keys()) if (!ids.has(id)) this.records.delete(id);
  }

  forget(id: string): void {
    this.records.delete(id);
  }

  /** Instances it holds a record for. */
  ids(): IterableIterator<string> {
    return this.records.keys();
  }

  isEjected(id: string, now = Date.now()): boolean {
    return (this.records.get(id)?.ejectedUntil ?? 0) > now;
  }

  ejected(now = Date.now()): string[] {
    return [...this.records].filter(([, record]) => record.ejectedUntil > now).map(([id]) => id);
  }

  record(id: string, success: boolean, now = Date.now()): void {
    this.know(id, now);
    const record = this.records.get(id)!;
    if (record.ejectedUntil > now) return; // a call made before the ejection: it was already judged
    if (now - record.windowStart >= this.options.intervalMs) Object.assign(record, { windowStart: now, calls: 0, failures: 0 });
    record.calls += 1;
    if (success) {
      record.consecutiveFailures = 0;
      return;
    }
    record.failures += 1;
    record.consecutiveFailures += 1;
    const { consecutiveFailures, failureRatio, minimumCalls } = this.options;
    const outlier = record.consecutiveFailures >= consecutiveFailures || (record.calls >= minimumCalls && record.failures / record.calls >= failureRatio);
    if (outlier && this.mayEject(now)) this.eject(record, now);
  }

  /** Envoy's max_ejection_percent: never more than that share of the cluster out, but at least one. */
  private mayEject(now: number): boolean {
    const allowed = Math.max(1, Math.floor((this.records.size * this.options.maxEjectionPercent) / 100));
    return this.ejected(now).length < allowed;
  }

  private eject(record: InstanceRecord, now: number): void {
    const { intervalMs, baseEjectionMs, maxEjectionMs } = this.options;
    const quietIntervals = record.ejections > 0 ? Math.floor((now - record.ejectedUntil) / intervalMs) : 0;
    record.ejections = Math.max(0, record.ejections - quietIntervals) + 1;
    record.ejectedUntil = now + Math.min(maxEjectionMs, baseEjectionMs * record.ejections);
    // Judged afresh when it comes back, as Envoy resets the counters of an ejected host.
    Object.assign(record, { consecutiveFailures: 0, windowStart: record.ejectedUntil, calls: 0, failures: 0 });
  }
}
