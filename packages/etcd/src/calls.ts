import { formatDuration, SwitchboardError, unavailable } from '@switchboard/contracts';
import { ExponentialBackoff, handleWhen, noop, retry, TaskCancelledError, timeout, TimeoutStrategy, wrap, type IBackoff, type IPolicy } from 'cockatiel';
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  GRPCGenericError,
  GRPCInvalidArgumentError,
  GRPCUnauthenticatedError,
  isRecoverableError,
} from 'etcd3';

/** How watches and the client's channels come back after etcd does: soon, not after etcd3's 30 s default. */
const RECONNECT = { initialDelay: 100, maxDelay: 2_000 };

/**
 * An etcd3 client for the registry: no retries or circuit breaker of its own (a breaker would refuse calls for
 * 5 s after etcd is back), each unary call bounded by the dial timeout, watches reconnecting within 2 s.
 */
export function openClient(options: { endpoints: string[]; dialTimeoutMs: number; username?: string | undefined; password?: string | undefined }): Etcd3 {
  return new Etcd3({
    hosts: options.endpoints,
    ...(options.username !== undefined ? { auth: { username: options.username, password: options.password ?? '' } } : {}),
    // etcd3 declares an IBackoff here but calls `.next()` on it first: it takes a factory, as its own default is.
    faultHandling: { host: () => noop, global: noop, watchBackoff: new ExponentialBackoff(RECONNECT) as unknown as IBackoff<unknown> },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + options.dialTimeoutMs }),
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': RECONNECT.initialDelay,
      'grpc.max_reconnect_backoff_ms': RECONNECT.maxDelay,
      // A prefix's range is one answer: gRPC's 4 MiB default would make a few large values under the prefix
      // (each within etcd's own 1.5 MiB limit) fail every read, and with it the whole backend. etcd bounds
      // what it sends; what a prefix holds is the operator's to bound.
      'grpc.max_receive_message_length': -1,
    },
  });
}

/**
 * Runs calls to etcd: retried while etcd cannot be reached, for at most the dial timeout, then UNAVAILABLE
 * naming the backend; refused credentials are UNAUTHENTICATED, refused permissions FORBIDDEN.
 */
export class EtcdCalls {
  private readonly policy: IPolicy;

  constructor(
    readonly client: Etcd3,
    readonly backend: string,
    private readonly dialTimeoutMs: number,
  ) {
    this.policy = wrap(
      timeout(dialTimeoutMs, TimeoutStrategy.Aggressive),
      retry(handleWhen(isTransient), { maxAttempts: Infinity, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 }) }),
    );
  }

  /** `call` gets the signal that aborts when the dial timeout passed: what it obtains after that is nobody's. */
  async run<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let last: unknown;
    try {
      return await this.policy.execute(async ({ signal }) => {
        try {
          return await call(signal);
        } catch (error) {
          // An attempt that failed after the deadline gave up on it is not the reason.
          if (!signal.aborted) last = error;
          throw error;
        }
      });
    } catch (error) {
      throw this.translate(error, last);
    }
  }

  /** What etcd's (or gRPC's) error means to a caller of the Registry. */
  translate(error: unknown, lastAttempt?: unknown): unknown {
    if (error instanceof SwitchboardError) return error;
    if (error instanceof TaskCancelledError) {
      // The dial timeout passed: nothing answered, or every attempt failed to connect.
      const why = lastAttempt === undefined ? '' : `: ${describe(lastAttempt)}`;
      return withCause(unavailable(`${this.backend} did not answer within ${formatDuration(this.dialTimeoutMs)}${why}.`), lastAttempt ?? error);
    }
    const why = describe(error);
    if (error instanceof EtcdAuthenticationFailedError || error instanceof EtcdInvalidAuthTokenError || error instanceof GRPCUnauthenticatedError) {
      return withCause(new SwitchboardError('UNAUTHENTICATED', `${this.backend} refused the credentials: ${why}.`), error);
    }
    // With authentication on, a client without credentials is told "user name is empty".
    if (error instanceof GRPCInvalidArgumentError && /user name is empty/.test(why)) {
      return withCause(new SwitchboardError('UNAUTHENTICATED', `${this.backend} requires a username and password: ${why}.`), error);
    }
    if (error instanceof EtcdPermissionDeniedError) {
      return withCause(new SwitchboardError('FORBIDDEN', `${this.backend} refused the operation: ${why}.`), error);
    }
    if (/request is too large/.test(why)) {
      return withCause(new SwitchboardError('BAD_USER_INPUT', `${this.backend} refused the request as too large: ${why}.`), error);
    }
    // Something answered that is not etcd (a proxy's 404, say), or the transport failed.
    if (error instanceof GRPCGenericError) return withCause(unavailable(`${this.backend} could not be used: ${why}.`), error);
    return withCause(new SwitchboardError('INTERNAL', `${this.backend} failed: ${why}.`), error);
  }
}

/** The error a watch reports when its stream to etcd broke: UNAVAILABLE, unless etcd said why (credentials…). */
export function streamLost(calls: EtcdCalls, error: unknown): unknown {
  const translated = calls.translate(error);
  if (translated instanceof SwitchboardError && translated.code !== 'INTERNAL') return translated;
  return withCause(unavailable(`${calls.backend} stopped answering a watch: ${describe(error)}.`), error);
}

/** etcd3's own test for "try again", safe for anything thrown. */
export function isTransient(error: unknown): boolean {
  return error instanceof Error && isRecoverableError(error);
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // gRPC's messages carry a trailing "Resolution note: " and the status code first.
  return message.replace(/\s*Resolution note:.*$/s, '').replace(/^\d+ [A-Z_]+: /, '');
}

function withCause(error: SwitchboardError, cause: unknown): SwitchboardError {
  error.cause = cause;
  return error;
}
