import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '@switchboard/contracts';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { answerError, describe, unreachable, type RequestLabel } from './errors.js';
import type { ConsulSettings } from './options.js';

/**
 * Consul's HTTP API over node:http. Not `fetch`: a blocking query holds its request open for minutes, and
 * only a socket tells "not connected yet" (the dial timeout, after which a call fails UNAVAILABLE) from
 * "connected, the server is waiting for a change" (the wait). Undici's fetch in Node 20 shows neither.
 */

export type QueryValue = string | number | true | readonly string[] | undefined;

export interface ConsulCall {
  method: 'GET' | 'PUT' | 'DELETE';
  /** Already encoded: "/v1/health/service/web". */
  path: string;
  /** `true` sends a bare flag (`?passing`), an array repeats the name (`?tag=a&tag=b`), undefined leaves it out. */
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (a KV value). */
  body?: string;
  signal?: AbortSignal;
  /** How long a connected request may wait for its answer (default: requestTimeout). */
  timeoutMs?: number;
  /** A 404 is an answer (a missing key, no such service), not an error. */
  notFoundIsAnswer?: boolean;
}

export interface ConsulAnswer {
  status: number;
  /** X-Consul-Index, when the endpoint gives one. */
  index: number | undefined;
  text: string;
}

/** Answers bigger than this are refused rather than buffered (a catalog of thousands of instances is a few MB). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** Between attempts to connect, within the dial timeout: a server restarting is back within it. */
const DIAL_BACKOFF = new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 });

/** Failed before the request reached the server: safe to try again, whatever the method. */
class NotConnected extends Error {}

export class ConsulHttp {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly settings: ConsulSettings) {
    const secure = settings.baseUrl.protocol === 'https:';
    this.transport = secure ? https : http;
    // Keep-alive: a watch's next blocking query reuses the connection its last one was answered on.
    this.agent = secure ? new https.Agent({ keepAlive: true, ...settings.tls }) : new http.Agent({ keepAlive: true });
  }

  /**
   * Sends `call`; resolves with a 2xx answer (or a 404 when `notFoundIsAnswer`), else throws SwitchboardError.
   * Connecting is retried until the dial timeout; once the request is sent it is not (a write may have happened).
   */
  async request(call: ConsulCall): Promise<ConsulAnswer> {
    const label: RequestLabel = { backend: this.settings.backend, method: call.method, path: call.path, sentToken: this.settings.token !== undefined };
    const dialUntil = performance.now() + this.settings.dialTimeoutMs;
    let backoff: IBackoff<unknown> | undefined;
    for (;;) {
      let answer: ConsulAnswer;
      try {
        answer = await this.attempt(call, Math.max(1, dialUntil - performance.now()));
      } catch (error) {
        if (call.signal?.aborted) throw call.signal.reason;
        const left = dialUntil - performance.now();
        if (!(error instanceof NotConnected)) {
          throw unreachable(`${label.backend} did not answer ${call.method} ${call.path}: ${describe(error)}.`, error);
        }
        if (left <= 0) {
          throw unreachable(
            `${label.backend} did not answer: no connection within the dial timeout (${formatDuration(this.settings.dialTimeoutMs)}): ${describe(error.cause ?? error)}.`,
            error,
          );
        }
        backoff = (backoff ?? DIAL_BACKOFF).next(undefined);
        await sleep(Math.min(backoff.duration, left), undefined, { signal: call.signal });
        continue;
      }
      if ((answer.status >= 200 && answer.status < 300) || (answer.status === 404 && call.notFoundIsAnswer)) return answer;
      throw answerError(label, answer.status, answer.text);
    }
  }

  /** Ends the kept-alive connections (and any request still held on one). */
  close(): void {
    this.agent.destroy();
  }

  private attempt(call: ConsulCall, dialMs: number): Promise<ConsulAnswer> {
    const { settings } = this;
    const url = new URL(call.path, settings.baseUrl);
    const query: Record<string, QueryValue> = { ...call.query, dc: settings.datacenter };
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined) continue;
      if (typeof value === 'object') for (const item of value) url.searchParams.append(name, item);
      else url.searchParams.append(name, value === true ? '' : String(value));
    }
    // "?passing=" and "?passing" mean the same to Consul; send the bare flag, as its documentation writes it.
    const target = url.pathname + url.search.replaceAll(/=(?=&|$)/g, '');
    const headers: Record<string, string> = {};
    if (settings.token !== undefined) headers['x-consul-token'] = settings.token;
    const body = call.json !== undefined ? JSON.stringify(call.json) : call.body;
    if (call.json !== undefined) headers['content-type'] = 'application/json';
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));

    return new Promise<ConsulAnswer>((resolve, reject) => {
      const answerWithinMs = call.timeoutMs ?? settings.requestTimeoutMs;
      let connected = false;
      let dialTimer: NodeJS.Timeout | undefined;
      let answerTimer: NodeJS.Timeout | undefined;
      const request: ClientRequest = this.transport.request(
        { protocol: url.protocol, hostname: url.hostname, port: url.port, path: target, method: call.method, headers, agent: this.agent, signal: call.signal },
        (response) =>
          collect(
            response,
            (text) => {
              clearTimeout(answerTimer);
              resolve({ status: response.statusCode ?? 0, index: indexOf(response), text });
            },
            fail,
          ),
      );
      // Timers held here, not signals (trap 10 in STYLE.md): connecting within the dial budget, then answering within the request's.
      const onConnected = () => {
        connected = true;
        clearTimeout(dialTimer);
        answerTimer = setTimeout(() => request.destroy(new Error(`no answer within ${formatDuration(answerWithinMs)}`)), answerWithinMs);
      };
      function fail(error: unknown) {
        clearTimeout(dialTimer);
        clearTimeout(answerTimer);
        reject(error);
      }
      request.on('socket', (socket: Socket) => {
        if (!socket.connecting) return onConnected(); // a kept-alive connection
        dialTimer = setTimeout(() => request.destroy(new Error(`no connection within ${formatDuration(dialMs)}`)), dialMs);
        socket.once(settings.baseUrl.protocol === 'https:' ? 'secureConnect' : 'connect', onConnected);
      });
      request.on('error', (error) => {
        // A kept-alive connection the server closed while idle fails at once with a reset; nothing reached it.
        const staleReuse = request.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET';
        fail(!connected || staleReuse ? new NotConnected(describe(error), { cause: error }) : error);
      });
      request.end(body);
    });
  }
}

function collect(response: IncomingMessage, done: (text: string) => void, fail: (error: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) return void response.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
    chunks.push(chunk);
  });
  response.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
  response.on('error', fail);
  response.on('close', () => {
    if (!response.complete) fail(new Error('the connection closed before the answer was complete'));
  });
}

function indexOf(response: IncomingMessage): number | undefined {
  const header = response.headers['x-consul-index'];
  if (typeof header !== 'string' || !/^\d{1,20}$/.test(header)) return undefined;
  // Consul's indexes are uint64; one past 2^53 would take centuries of writes to reach.
  return Number(header);
}
