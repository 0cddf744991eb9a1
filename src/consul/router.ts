import type { Scope } from '../registry/access/index.js';
import type { ConsulRequest } from './request.js';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** What a handler answers; `toReply` in respond.ts serializes it, with Consul's headers. */
export interface Answer {
  /** Default 200. */
  status?: number;
  /** Sent as JSON (give this or `text`). */
  body?: unknown;
  /** Sent as is (a raw KV value, a plain-text error). */
  text?: string | Buffer;
  contentType?: string;
  /** X-Consul-Index; default: the route's index as read before the handler ran, else the feed's head. */
  index?: number;
}

export interface Route {
  method: Method;
  /** "/v1/health/service/:name"; a last segment "*key" takes the rest of the path, slashes included ("/v1/kv/*key"). */
  pattern: string;
  /** What the caller's token needs: READ for reads, WRITE for writes (prefix rules are the domain's). */
  scope: Scope;
  /**
   * The index of the answer this request would get now, computed from memory (no query):
   * GET routes with one support blocking queries (?index=&wait=), and their answers carry it.
   */
  index?: (request: ConsulRequest) => number;
  /**
   * Run once before a blocking query waits: reads what `index` needs and memory lacks (a KV
   * value's ModifyIndex from before this process started), so that the wait starts from the
   * answer's true index instead of returning at once.
   */
  prepare?: (request: ConsulRequest) => Promise<void>;
  handle: (request: ConsulRequest) => Answer | Promise<Answer>;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
}

export type Match = { route: Route; params: Record<string, string> } | { allowed: Method[] } | undefined;

/**
 * A tiny router: literal segments, `:name` for one segment, a trailing `*name` for the
 * rest. Routes are tried in the order added; the first that matches wins. A path that
 * matches only under other methods gives the methods it allows (for 405).
 */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) this.routes.push({ route, segments: route.pattern.split('/').slice(1) });
    return this;
  }

  match(method: string, path: string): Match {
    const parts = path.split('/').slice(1);
    const allowed = new Set<Method>();
    let found: { route: Route; params: Record<string, string> } | undefined;
    for (const { route, segments } of this.routes) {
      const params = matchSegments(segments, parts);
      if (!params) continue;
      if (route.method === method) {
        found ??= { route, params };
      } else allowed.add(route.method);
    }
    if (found) return found;
    return allowed.size > 0 ? { allowed: [...allowed] } : undefined;
  }
}

function matchSegments(segments: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.startsWith('*')) {
      // `a%2Fb` is the key `a/b`, as in Consul: the npm consul client sends every key so encoded.
      params[segment.slice(1)] = decode(parts.slice(i).join('/'));
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.startsWith(':')) {
      if (part === '') return undefined;
      params[segment.slice(1)] = decode(part);
    } else if (segment !== part) return undefined;
  }
  return parts.length === segments.length ? params : undefined;
}

/** Percent-decoding; a malformed escape stays as written (the handler then finds nothing by that name). */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
