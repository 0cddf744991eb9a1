import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export type Query = Record<string, string | undefined>;

/** The API server answered with an error status; `statusCode` as client-node's informer reads it (410 means relist). */
export class ApiStatusError extends Error {
  constructor(
    readonly statusCode: number,
    /** The Status object's `reason` (Unauthorized, Forbidden, Expired…), when it sent one. */
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** No answer in time: a dial that never completes, or a server that accepts and stays silent. */
export class ApiTimeoutError extends Error {}

/** The kubeconfig's credentials could not be had (a token file missing, an exec plugin failing). */
export class CredentialsError extends Error {}

/**
 * GETs against the API server with the credentials of a KubeConfig (client-node applies them: tokens, token
 * files, client certificates, exec plugins, CA). Lists and watches are read as raw JSON, as the watch's
 * objects are: client-node's typed list deserialises (dates become Date objects, a malformed field can
 * throw for the whole list), which would make one bad object cost the whole answer.
 */
export class KubeApi {
  constructor(
    readonly kubeConfig: KubeConfig,
    /** A request with no answer (response headers) within this fails with ApiTimeoutError. */
    private readonly dialTimeoutMs: number,
    /** A GET whose body is not all read within this fails too. */
    private readonly readTimeoutMs: number,
  ) {}

  get server(): string {
    return this.kubeConfig.getCurrentCluster()?.server ?? '';
  }

  /** GETs a JSON document. */
  async get(path: string, query: Query = {}): Promise<unknown> {
    const response = await this.open(path, query);
    const body = await readBody(response, this.readTimeoutMs);
    return JSON.parse(body) as unknown;
  }

  /**
   * Opens a streaming GET (a watch): resolves once the server answered 200, with the response to read lines
   * from; `signal` ends it.
   */
  stream(path: string, query: Query, signal: AbortSignal): Promise<IncomingMessage> {
    return this.open(path, query, signal);
  }

  private async open(path: string, query: Query, signal?: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    const options: RequestOptions = {};
    try {
      await this.kubeConfig.applyToHTTPSOptions(options);
    } catch (error) {
      throw new CredentialsError(error instanceof Error ? error.message : String(error), { cause: error });
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, {
      method: 'GET',
      agent: options.agent,
      auth: options.auth,
      headers: { ...options.headers, accept: 'application/json' },
      signal,
    });
    const response = await answerOf(request, this.dialTimeoutMs);
    if (response.statusCode === 200) return response;
    throw await statusError(response, this.readTimeoutMs);
  }
}

/** The response, once its headers arrived; fails when they do not within `timeoutMs`. */
function answerOf(request: ClientRequest, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    // Held here until the answer or the failure: a timer only a signal held could be collected (STYLE trap 10).
    const timer = setTimeout(() => request.destroy(new ApiTimeoutError(`no answer within ${timeoutMs}ms`)), timeoutMs);
    request.once('response', (response) => {
      clearTimeout(timer);
      // A connection cut later fails the response too: its reader hears of it there.
      response.on('error', () => {});
      resolve(response);
    });
    // After the answer, the request's errors repeat the response's (or come of an abort): only the first is news.
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end();
  });
}

function readBody(response: IncomingMessage, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => response.destroy(new ApiTimeoutError(`the answer was not read within ${timeoutMs}ms`)), timeoutMs);
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    response.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** An error status, with the message of the Status object the API server sends with it. */
async function statusError(response: IncomingMessage, timeoutMs: number): Promise<ApiStatusError> {
  const code = response.statusCode ?? 0;
  let reason: string | undefined;
  let message = `${code} ${response.statusMessage ?? ''}`.trim();
  try {
    const status = JSON.parse(await readBody(response, timeoutMs)) as { reason?: unknown; message?: unknown };
    if (typeof status.reason === 'string') reason = status.reason;
    if (typeof status.message === 'string' && status.message) message = `${code} ${status.message.slice(0, 500)}`;
  } catch {
    // Not a Status (a proxy's page): the status line says enough.
  }
  return new ApiStatusError(code, reason, message);
}
