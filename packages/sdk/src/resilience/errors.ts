/** An instance answered with a server error (5xx); the response body is kept for the message. */
export class UpstreamStatusError extends Error {
  override readonly name = 'UpstreamStatusError';
  constructor(
    readonly status: number,
    readonly instanceId: string,
    readonly body: string,
  ) {
    super(`Instance ${instanceId} answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
}

/** A helper call (get/post/put/delete) got a response that is not 2xx; `request` returns such responses instead. */
export class ServiceResponseError extends Error {
  override readonly name = 'ServiceResponseError';
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly instanceId: string,
  ) {
    super(`Instance ${instanceId} answered ${status}`);
  }
}
