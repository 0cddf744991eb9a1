import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { SwitchboardRequestError, unreachable } from './errors.js';
import { subscription, takesAfter } from './subscription.js';

export interface SwitchboardClientOptions {
  /**
   * The GraphQL endpoint (http://127.0.0.1:4000/graphql); or several servers of one registry, tried in turn, the
   * next one each time a connection is lost or refused; or a function choosing the URL from that count.
   */
  url: string | readonly string[] | ((failures: number) => string);
  /** Sent as `Authorization: Bearer <token>` (HTTP) and `connectionParams.authorization` (WebSocket). */
  token?: string | undefined;
  /** WebSocket reconnect attempts in a row before a subscription fails (default 5); a connection resets the count. */
  retryAttempts?: number;
  /** Waits before reconnect attempt `retries` (0, 1, ...); default: graphql-ws's randomised exponential backoff from 1s. */
  retryWait?: (retries: number) => Promise<void>;
  /** The WebSocket class for subscriptions, e.g. `ws`'s default export on Node 20; default: the global WebSocket. */
  webSocketImpl?: unknown;
  /** The fetch for queries and mutations; default: the global fetch. */
  fetch?: typeof fetch;
  /**
   * How long the WebSocket stays open after its last subscription ends, in ms (default 0: closed at once). An
   * app that replaces one subscription by another (a page changing a filter) keeps its connection with a few seconds.
   */
  lazyCloseTimeout?: number;
  /**
   * Sent as `connectionParams.sessionId` on every WebSocket connection, reconnects included: instances registered
   * over the WebSocket with `ephemeral: true` stay bound to it, so a reconnect (to any server) within the server's
   * grace period keeps them. A secret of this client, 16 to 128 characters; default: a random UUID per client object.
   */
  sessionId?: string;
}

export interface SubscribeOptions {
  /**
   * Resume after a reconnect from the last event received (default true). Applies to subscriptions whose
   * operation declares `$after` and selects the event's `eventId` (or `id`); others re-subscribe as they began.
   */
  resume?: boolean;
}

type VariablesOf<V> = V extends Record<string, never> ? [variables?: V] : [variables: V];
type SubscribeArgs<V> = V extends Record<string, never> ? [variables?: V, options?: SubscribeOptions] : [variables: V, options?: SubscribeOptions];

export class SwitchboardClient {
  private ws: WsClient | undefined;
  /** Connections lost or refused so far: picks the server when `url` names several. */
  private failures = 0;
  private readonly printed = new WeakMap<DocumentNode, string>();
  /** This client's WebSocket session (see `SwitchboardClientOptions.sessionId`). */
  readonly sessionId: string;

  constructor(private readonly options: SwitchboardClientOptions) {
    if (Array.isArray(options.url) && options.url.length === 0) throw new Error('SwitchboardClient: `url` lists no server.');
    this.sessionId = options.sessionId ?? crypto.randomUUID();
  }

  /** The server to talk to now. */
  get url(): string {
    const { url } = this.options;
    if (typeof url === 'string') return url;
    if (typeof url === 'function') return url(this.failures);
    return url[this.failures % url.length]!;
  }

  /**
   * Runs a query or mutation; throws SwitchboardRequestError when the response has errors. A request is not
   * retried (a mutation may have been applied); when the server cannot be reached, the next goes to the next URL.
   */
  async request<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...[variables]: VariablesOf<Variables>): Promise<Result> {
    const fetchImpl = this.options.fetch ?? globalThis.fetch;
    let response: Response;
    const url = this.url;
    try {
      response = await fetchImpl(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
        },
        body: JSON.stringify({ query: this.print(document), variables: variables ?? {} }),
      });
    } catch (error) {
      this.failures += 1;
      // A mutation may have been applied before the connection failed: the caller decides whether to retry.
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw unreachable(`The registry at ${url} could not be reached (${describeError(error)}${cause}).`, error, { url });
    }
    const body = (await response.json().catch(() => ({}))) as { data?: Result | null; errors?: GraphQLFormattedError[] };
    if (body.errors?.length) throw new SwitchboardRequestError(body.errors, response.status);
    if (!response.ok || body.data == null) throw new SwitchboardRequestError([], response.status);
    return body.data;
  }

  /**
   * Subscribes; each iteration yields one payload. Breaking out of the loop unsubscribes. After a lost
   * connection it reconnects (see `retryAttempts`) and, unless `resume: false`, continues after the last event
   * received: every event once, in order, across a server restart or a move to another server.
   */
  subscribe<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...args: SubscribeArgs<Variables>): AsyncIterableIterator<Result> {
    const [variables, options] = args as [Variables | undefined, SubscribeOptions | undefined];
    const resumable = options?.resume !== false && takesAfter(document);
    return subscription<Result>(this.wsClient(), this.print(document), (variables ?? {}) as Record<string, unknown>, resumable);
  }

  /**
   * Runs a query or mutation over the WebSocket (the one the subscriptions share, with this client's
   * `sessionId`) and resolves with its result: for what the server ties to the connection, such as
   * `registerService(..., ephemeral: true)`. Throws as `request` does. The socket stays open only while a
   * subscription holds it: an ephemeral instance needs one that lasts.
   */
  async requestOverWebSocket<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...[variables]: VariablesOf<Variables>): Promise<Result> {
    const answer = subscription<Result>(this.wsClient(), this.print(document), (variables ?? {}) as Record<string, unknown>, false);
    try {
      const { done, value } = await answer.next();
      if (done) throw new Error('The server ended the operation without a result.');
      return value;
    } finally {
      await answer.return?.();
    }
  }

  /** Closes the WebSocket, ending every subscription of this client. */
  async close(): Promise<void> {
    await this.ws?.dispose();
    this.ws = undefined;
  }

  private wsClient(): WsClient {
    this.ws ??= createClient({
      url: () => this.url.replace(/^http/, 'ws'),
      webSocketImpl: this.webSocketImpl(),
      connectionParams: { sessionId: this.sessionId, ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) },
      retryAttempts: this.options.retryAttempts ?? 5,
      lazyCloseTimeout: this.options.lazyCloseTimeout ?? 0,
      ...(this.options.retryWait ? { retryWait: this.options.retryWait } : {}),
      // Also retry when the socket errs before it closes (a refused connection); fatal close codes still end it.
      shouldRetry: () => true,
      on: {
        // A normal closure (1000) is the client's own: the last subscription ended, or close().
        closed: (event) => {
          if ((event as { code?: number }).code !== 1000) this.failures += 1;
        },
      },
      lazy: true,
    });
    return this.ws;
  }

  private webSocketImpl(): unknown {
    const impl = this.options.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket;
    if (impl === undefined) {
      throw new Error(
        'SwitchboardClient: this runtime has no global WebSocket (Node before 22); pass one to subscribe, e.g. `webSocketImpl: WebSocket` from the `ws` package.',
      );
    }
    return impl;
  }

  private print(document: DocumentNode): string {
    let text = this.printed.get(document);
    if (text === undefined) {
      text = print(document);
      this.printed.set(document, text);
    }
    return text;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
