/**
 * The pure arithmetic of load balancing, shared by the server's `selectInstance` and the SDK's
 * LoadBalancer so that both pick the same instance for the same instances and key.
 */

/**
 * A fast 53-bit string hash (cyrb53), the same on every process and platform, so
 * consistent hashing picks the same instance wherever the question is asked.
 * Not cryptographic; it only has to spread keys evenly.
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A hash mapped into (0, 1), never exactly 0 or 1 (rendezvous scores take its logarithm). */
export function unitHash(text: string): number {
  return (hash53(text) + 0.5) / 2 ** 53;
}

/** The index a uniform draw in [0, 1) lands on when each index owns a share proportional to its weight. */
export function weightedIndex(weights: readonly number[], draw: number): number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let target = draw * total;
  for (let i = 0; i < weights.length; i++) {
    target -= weights[i]!;
    if (target < 0) return i;
  }
  return weights.length - 1;
}

/**
 * Weighted rendezvous (highest random weight) hashing over instance ids: each scores
 * -weight / ln(h(key, id)) and the highest score wins. The same key and instances give
 * the same answer everywhere; removing an instance moves only the keys it held; weights
 * shift keys in proportion.
 */
export function rendezvousIndex(ids: readonly string[], weights: readonly number[], key: string): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < ids.length; i++) {
    const score = -weights[i]! / Math.log(unitHash(`${key}\u0000${ids[i]!}`));
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}
