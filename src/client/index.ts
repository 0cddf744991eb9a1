/**
 * A small typed client for Switchboard: queries and mutations over HTTP,
 * subscriptions over WebSocket (graphql-transport-ws). Documents come from
 * `./generated` (graphql-codegen), so results and variables are typed end to end.
 *
 *   const client = new SwitchboardClient({ url: 'http://127.0.0.1:4000/graphql' });
 *   const { discoverServices } = await client.request(DiscoverServicesDocument, { name: 'api' });
 *   for await (const { serviceChanged } of client.subscribe(OnServiceChangedDocument, { name: 'api' })) { ... }
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';

export * from './generated/graphql.js';

export interface SwitchboardClientOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` (HTTP) and `connectionParams.authorization` (WebSocket). */
  token?: string | undefined;
  /** WebSocket reconnect attempts before a subscription fails (default 5). */
  retryAttempts?: number;
}

/** A GraphQL response that carried errors; `code` is the first error's `extensions.code`. */
export class SwitchboardRequestError extends Error {
  override readonly name = 'SwitchboardRequestError';

  constructor(
    readonly errors: readonly GraphQLFormattedError[],
    readonly status?: number,
  ) {
    super(errors.map((error) => error.message).join('; ') || `HTTP ${status}`);
  }

  get code(): string | undefined {
    return this.errors[0]?.extensions?.['code'] as string | undefined;
  }
}

type VariablesOf<V> = V extends Record<string, never> ? [variables?: V] : [variables: V];

export class SwitchboardClient {
  private ws: WsClient | undefined;
  private readonly printed = new WeakMap<DocumentNode, string>();

  constructor(private readonly options: SwitchboardClientOptions) {}

  /** Runs a query or mutation; throws SwitchboardRequestError when the response has errors. */
  async request<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...[variables]: VariablesOf<Variables>): Promise<Result> {
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      },
      body: JSON.stringify({ query: this.print(document), variables: variables ?? {} }),
    });
    const body = (await response.json().catch(() => ({}))) as { data?: Result | null; errors?: GraphQLFormattedError[] };
    if (body.errors?.length) throw new SwitchboardRequestError(body.errors, response.status);
    if (!response.ok || body.data == null) throw new SwitchboardRequestError([], response.status);
    return body.data;
  }

  /** Subscribes; each iteration yields one payload. Breaking out of the loop unsubscribes. */
  subscribe<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...[variables]: VariablesOf<Variables>): AsyncIterableIterator<Result> {
    const results = this.wsClient().iterate<Result>({ query: this.print(document), variables: (variables ?? {}) as Record<string, unknown> });
    return {
      async next() {
        let step: IteratorResult<{ data?: unknown; errors?: readonly GraphQLFormattedError[] }>;
        try {
          step = await results.next();
        } catch (error) {
          // The server refused the subscription (graphql-ws "error" message): a list of GraphQL errors.
          if (Array.isArray(error)) throw new SwitchboardRequestError(error as GraphQLFormattedError[]);
          throw error;
        }
        if (step.done) return step;
        if (step.value.errors?.length) throw new SwitchboardRequestError(step.value.errors);
        return { done: false, value: step.value.data as Result };
      },
      async return() {
        await results.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Closes the WebSocket, ending every subscription of this client. */
  async close(): Promise<void> {
    await this.ws?.dispose();
    this.ws = undefined;
  }

  private wsClient(): WsClient {
    this.ws ??= createClient({
      url: this.options.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: this.options.token ? { authorization: `Bearer ${this.options.token}` } : undefined,
      retryAttempts: this.options.retryAttempts ?? 5,
      lazy: true,
    });
    return this.ws;
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
