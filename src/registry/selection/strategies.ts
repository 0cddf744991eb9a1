import { rendezvousIndex, weightedIndex } from '@switchboard/contracts';
import { LRUCache } from 'lru-cache';
import type { Candidate } from './candidates.js';

export type Strategy = 'ROUND_ROBIN' | 'WEIGHTED' | 'RANDOM' | 'PRIORITY' | 'CONSISTENT_HASH';

/**
 * Round-robin positions, per process. Each process starts every rotation at a
 * random point, so clients spread over several servers are not all sent to the
 * same instance at once; each server's rotation is even, so their union is too.
 */
export class RoundRobin {
  /** By rotation key; past `maxKeys` the rotation used longest ago is forgotten (it restarts at random). */
  private readonly positions: LRUCache<string, number>;

  constructor(maxKeys = 10_000) {
    this.positions = new LRUCache<string, number>({ max: maxKeys });
  }

  /** The index to pick now, moving the rotation on. */
  next(key: string, size: number): number {
    const position = this.position(key);
    this.positions.set(key, position + 1);
    return position % size;
  }

  /** The index `next` would pick now, leaving the rotation where it is (for explanations). */
  peek(key: string, size: number): number {
    return this.position(key) % size;
  }

  private position(key: string): number {
    let position = this.positions.get(key);
    if (position === undefined) {
      // The random start is kept, so a peek and the next pick agree.
      position = Math.floor(Math.random() * 1_000_000);
      this.positions.set(key, position);
    }
    return position;
  }
}

export interface PickContext {
  strategy: Strategy;
  hashKey: string | undefined;
  rotationKey: string;
  roundRobin: RoundRobin;
  /** False for an explanation: look at the rotation without moving it. */
  advance: boolean;
  random: () => number;
}

/**
 * Picks one of `pool` (already narrowed to one priority tier, drained instances
 * removed unless all are drained). `weights` are the effective weights: all 1
 * when every instance in the tier was drained (the uniform fallback).
 */
export function pick(pool: readonly Candidate[], weights: readonly number[], context: PickContext): number {
  switch (context.strategy) {
    case 'ROUND_ROBIN':
      return context.advance ? context.roundRobin.next(context.rotationKey, pool.length) : context.roundRobin.peek(context.rotationKey, pool.length);
    case 'RANDOM':
      return Math.floor(context.random() * pool.length);
    case 'WEIGHTED':
    case 'PRIORITY':
      return weightedIndex(weights, context.random());
    case 'CONSISTENT_HASH':
      return rendezvousIndex(
        pool.map((candidate) => candidate.instance.id),
        weights,
        context.hashKey ?? '',
      );
  }
}

/** Each candidate's share of picks for the strategy, for explanations (consistent hashing: by weight). */
export function shares(strategy: Strategy, weights: readonly number[]): number[] {
  if (strategy === 'ROUND_ROBIN' || strategy === 'RANDOM') return weights.map(() => 1 / weights.length);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return weights.map((weight) => weight / total);
}
