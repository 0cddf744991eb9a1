import type { IncomingMessage } from 'node:http';
import type { Principal } from '../registry/access/index.js';
import { BodyRefusedError, readBody } from '../http/body.js';
import { jsonNestsDeeperThan } from '../http/document-limits.js';
import { ConsulError } from './errors.js';

/** Levels of arrays and objects a body may nest (Consul's own decoder stops at 10,000; no Consul body needs 10). */
const MAX_BODY_NESTING = 100;

/**
 * One request to the Consul-compatible API, as a handler sees it: path parameters,
 * the query, who is asking, and the body (read on demand, within the size limit).
 */
export class ConsulRequest {
  private body: Promise<Buffer> | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly params: Readonly<Record<string, string>>,
    readonly query: URLSearchParams,
    readonly principal: Principal,
    private readonly maxBodyBytes: number,
  ) {}

  /** The client's address as this server's socket sees it (behind a proxy: the proxy's). */
  get callerAddress(): string | undefined {
    return this.req.socket.remoteAddress;
  }

  /** A path parameter the route's pattern names. */
  param(name: string): string {
    const value = this.params[name];
    if (value === undefined) throw new Error(`The route has no parameter "${name}".`);
    return value;
  }

  /** The body as bytes; over the limit, or not UTF-8, it is refused (400) before it is all read. */
  rawBody(): Promise<Buffer> {
    this.body ??= readBody(this.req, this.maxBodyBytes).catch((error: unknown) => {
      if (error instanceof BodyRefusedError) throw new ConsulError(400, `Request decode failed: ${error.message}`);
      throw error;
    });
    return this.body;
  }

  /** The body parsed as JSON; undefined when it is empty. */
  async json(): Promise<unknown> {
    const text = (await this.rawBody()).toString('utf8');
    if (text.trim() === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConsulError(400, `Request decode failed: ${(error as Error).message}`);
    }
    // Refused before any handler walks it: a recursive copy or stringify of a deep value overflows the stack.
    if (jsonNestsDeeperThan(value, MAX_BODY_NESTING))
      throw new ConsulError(400, `Request decode failed: the body nests deeper than ${MAX_BODY_NESTING} levels.`);
    return value;
  }

  /** A query parameter's first value; undefined when absent. */
  string(name: string): string | undefined {
    return this.query.get(name) ?? undefined;
  }

  /** Every value of a repeated query parameter (`?tag=a&tag=b`). */
  all(name: string): string[] {
    return this.query.getAll(name);
  }

  /**
   * A flag such as `?passing`: present with no value, `1` or `true` is on; absent, `0` or
   * `false` is off; anything else is refused (400), as Consul refuses it.
   */
  flag(name: string): boolean {
    const value = this.query.get(name);
    if (value === null) return false;
    const normalised = value.toLowerCase();
    if (normalised === '' || normalised === '1' || normalised === 'true') return true;
    if (normalised === '0' || normalised === 'false') return false;
    throw new ConsulError(400, `Invalid value for ?${name}: "${value.slice(0, 40)}" (use true or false).`);
  }
}

/**
 * The token a Consul client sends, wherever it puts it, in Consul's order: `?token=`,
 * `X-Consul-Token`, `Authorization: Bearer`. Undefined when there is none.
 */
export function consulToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const fromQuery = query.get('token');
  if (fromQuery) return fromQuery;
  const header = req.headers['x-consul-token'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  const authorization = req.headers.authorization;
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  return bearer || undefined;
}
