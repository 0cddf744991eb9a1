import type { Registry } from 'prom-client';

/** A histogram's cumulative bucket counts (by upper bound, ascending) and its total count. */
export interface HistogramReading {
  buckets: { le: number; count: number }[];
  count: number;
}

/** The sum of a counter's series (every label set). */
export async function readCounter(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.reduce((sum, sample) => sum + sample.value, 0);
}

/** A histogram without labels, as it stands. */
export async function readHistogram(registry: Registry, name: string): Promise<HistogramReading> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  // Histogram samples carry the series name (_bucket, _sum, _count); the declared type leaves it out.
  const values = (await metric.get()).values as { metricName?: string; labels: Record<string, string | number>; value: number }[];
  const buckets = values
    .filter((sample) => sample.metricName === `${name}_bucket`)
    .map((sample) => ({ le: sample.labels['le'] === '+Inf' ? Infinity : Number(sample.labels['le']), count: sample.value }))
    .sort((a, b) => a.le - b.le);
  const count = values.find((sample) => sample.metricName === `${name}_count`)?.value ?? 0;
  return { buckets, count };
}

/** What was observed between two readings of one histogram. */
export function histogramSince(after: HistogramReading, before: HistogramReading): HistogramReading {
  return {
    buckets: after.buckets.map((bucket, index) => ({ le: bucket.le, count: bucket.count - (before.buckets[index]?.count ?? 0) })),
    count: after.count - before.count,
  };
}

/**
 * The q-quantile (0..1) estimated from bucket counts by linear interpolation inside the
 * bucket it falls in, as Prometheus's histogram_quantile() does: as precise as the buckets.
 */
export function histogramQuantile(q: number, histogram: HistogramReading): number {
  if (histogram.count === 0) return NaN;
  const rank = q * histogram.count;
  let lower = 0;
  let below = 0;
  for (const bucket of histogram.buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lower;
      const inBucket = bucket.count - below;
      return inBucket === 0 ? bucket.le : lower + (bucket.le - lower) * ((rank - below) / inBucket);
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}
