export type DiscoveryErrorCode =
  /** The registry did not answer within the discovery timeout, and nothing was known of the service. */
  | 'DISCOVERY_TIMEOUT'
  /** The registry could not be reached (or refused), and nothing was known of the service. */
  | 'DISCOVERY_UNAVAILABLE';

/** Discovery of a service failed with nothing to fall back on (no cached entry, no snapshot). */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';

  constructor(
    readonly code: DiscoveryErrorCode,
    /** The service that could not be discovered. */
    readonly service: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
