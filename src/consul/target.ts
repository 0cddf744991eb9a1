import { ConsulError } from './errors.js';

/** A request's path and query, read from the request target exactly as the client sent it. */
export interface RequestTarget {
  /** Still percent-encoded: the router splits it into segments, then decodes each. */
  pathname: string;
  searchParams: URLSearchParams;
}

/**
 * Reads `req.url` as received, and refuses what a URL parser would turn into another path.
 *
 * The trap: WHATWG `new URL()` resolves dot segments (`a/../b` and `a/%2e%2e/b` become `b`,
 * `a/./b` becomes `a/b`), reads `\` as `/` and drops everything after `#`. Routed on the
 * parsed path, `PUT /v1/kv/a/../b` wrote the key `b`, `DELETE /v1/kv/a/..?recurse` deleted
 * every key, and `/v1/agent/service/deregister/x/../y` removed `y`: each acted on a key or
 * an id other than the one written. Consul's own keys may hold such parts; here they are
 * refused (400), and the rest of the path is routed as sent, so what a handler sees is what
 * the client wrote. An encoded "/" is not refused: `a%2Fb` is the key `a/b` as in Consul (the
 * npm consul client encodes every key that way), and once decoded it is never resolved further.
 */
export function readTarget(rawUrl: string): RequestTarget {
  if (rawUrl.includes('#')) {
    throw new ConsulError(400, `Invalid request path: "#" is not allowed in "${rawUrl.slice(0, 200)}" (a key or id with "#" would lose what follows it).`);
  }
  const at = rawUrl.indexOf('?');
  const path = at === -1 ? rawUrl : rawUrl.slice(0, at);
  if (path.includes('\\')) {
    throw new ConsulError(400, `Invalid request path: "\\" is not allowed in "${path.slice(0, 200)}" (URL parsers read it as "/").`);
  }
  if (path.split('/').some(isDotSegment)) {
    throw new ConsulError(
      400,
      `Invalid request path: "${path.slice(0, 200)}" has a "." or ".." part (or %2E%2E); it would resolve to another path and name another key or id, so nothing was done.`,
    );
  }
  return { pathname: path, searchParams: new URLSearchParams(at === -1 ? '' : rawUrl.slice(at + 1)) };
}

/** "." and "..", and their percent-encoded spellings (`%2e`, `.%2E`...), which URL parsers resolve the same. */
function isDotSegment(segment: string): boolean {
  const plain = segment.replace(/%2e/gi, '.');
  return plain === '.' || plain === '..';
}
