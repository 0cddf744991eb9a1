/** One instance to call, as the discovery cache knows it. */
export interface PickedInstance {
  id: string;
  address: string;
  /** Null when the instance registered without one: the scheme's default port is used. */
  port: number | null;
  metadata?: Readonly<Record<string, string>>;
  /** Ends the call's count as in flight (a balancer choosing by outstanding calls); called once the attempt ends. */
  release?: () => void;
}

export interface PickOptions {
  /** Routes equal keys to the same instance (consistent hashing), when the balancer hashes. */
  hashKey?: string;
  /** Instances not to choose: open breakers, ejected outliers, instances this call already tried. */
  exclude?: ReadonlySet<string>;
}

/**
 * Chooses the instance for one call. The discovery cache and its balancer implement it; a ServiceClient
 * asks it once per attempt. Rejects when no instance outside `exclude` is known.
 */
export interface InstancePicker {
  pick(options?: PickOptions): Promise<PickedInstance>;
  /**
   * `pick` without waiting, from what the picker holds now; not counted as a call in flight. Optional: a
   * ServiceClient's synchronous `url()` needs it (DiscoveryPicker has it). Throws when no instance is left.
   */
  pickNow?(options?: PickOptions): PickedInstance;
}
