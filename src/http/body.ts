import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';

/** A request body refused before an API (GraphQL, Consul) sees it; `status` is the HTTP answer. */
export class BodyRefusedError extends Error {
  override readonly name = 'BodyRefusedError';

  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a request body, refusing it as soon as it passes `maxBytes` (whether or
 * not a Content-Length announced it), so a huge upload costs us at most the limit.
 * A body that is not valid UTF-8 is refused too: decoding it would silently turn
 * the bad bytes into U+FFFD, and that replacement would be stored.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new BodyRefusedError(413, `Request body exceeds ${maxBytes} bytes.`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  if (!isUtf8(body)) throw new BodyRefusedError(400, 'Request body is not valid UTF-8.');
  return body;
}
