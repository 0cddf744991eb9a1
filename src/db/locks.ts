/**
 * Advisory lock keys. One place, so two features never pick the same number.
 * They are arbitrary 64-bit constants; the high bits spell nothing.
 */
export const AdvisoryLock = {
  /** Session lock held while migrations run, so two nodes starting together do not race. */
  MIGRATIONS: 0x5b_0001n,
  /** Transaction lock that makes event ids commit-ordered (src/events/append.ts). */
  EVENT_APPEND: 0x5b_0002n,
  /** Transaction try-lock: one node prunes the event log at a time. */
  EVENT_RETENTION: 0x5b_0003n,
  /**
   * First half of a two-key transaction lock (the second is hashtext(key)) that
   * serializes writes to one configuration key across its environments.
   */
  CONFIG_KEY: 0x5b_0004,
} as const;
