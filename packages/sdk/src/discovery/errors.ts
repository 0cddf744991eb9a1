import { SwitchboardError } from '@switchboard/contracts';

export type DiscoveryErrorCode =
  /** The registry did not answer within the discovery timeout, and nothing was known of the service. */
  | 'DISCOVERY_TIMEOUT'
  /** The registry could not be reached (or refused), and nothing was known of the service. */
  | 'DISCOVERY_UNAVAILABLE';

/**
 * Discovery of a service failed with nothing to fall back on (no cached entry, no snapshot). A
 * SwitchboardError like every failure of the SDK, with code `UNAVAILABLE` (retry later); `reason` says
 * which: the registry did not answer in time, or could not be reached. `details` holds both facts too.
 */
export class DiscoveryError extends SwitchboardError {
  constructor(
    readonly reason: DiscoveryErrorCode,
    /** The service that could not be discovered. */
    readonly service: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('UNAVAILABLE', message, { reason, service });
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
