import { readFileSync } from 'node:fs';

/**
 * A JSON file an operator hands the CLI (a manifest, an instance definition), read with limits, so that what
 * is not a reasonable document is refused with a sentence before anything is parsed or sent:
 *
 * - too big: refused on its size, not read whole and then sent (the server's body limit answers a big
 *   request by closing the connection, which reads as "could not be reached");
 * - not UTF-8: `readFileSync(…, 'utf8')` would turn a Latin-1 byte into U+FFFD and register that;
 * - a byte order mark: JSON.parse's "Unexpected token" does not say what is wrong;
 * - nested past `maxDepth`: JSON.parse copes, but JSON.stringify (sending it) and every recursive check
 *   after it overflow the stack. Counted on the text, without recursion.
 */
export interface JsonFileLimits {
  /** What the file is, for messages: "a manifest", "a definition". */
  what: string;
  maxBytes: number;
  maxDepth: number;
}

export type JsonFileRead = { value: unknown } | { problem: string };

export function readJsonFile(file: string, limits: JsonFileLimits, read: () => Buffer = () => readFileSync(file)): JsonFileRead {
  let bytes: Buffer;
  try {
    bytes = read();
  } catch (error) {
    return { problem: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  if (bytes.length > limits.maxBytes) {
    return { problem: `${file} is ${megabytes(bytes.length)}; ${limits.what} may be at most ${megabytes(limits.maxBytes)}` };
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { problem: `${file} starts with a byte order mark (U+FEFF); save it as UTF-8 without one` };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    return { problem: `${file} is not UTF-8 (byte 0x${bytes[at]!.toString(16).padStart(2, '0')} at offset ${at}); save it as UTF-8` };
  }
  if (depthExceeds(text, limits.maxDepth)) return { problem: `${file} nests deeper than ${limits.maxDepth} levels` };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { problem: `${file} is not JSON: ${(error as Error).message}` };
  }
}

/** Whether objects and arrays in `text` nest deeper than `max`, brackets inside strings not counted. */
export function depthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c)
        i++; // a backslash: skip what it escapes
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      if (++depth > max) return true;
    } else if (char === 0x7d || char === 0x5d) depth--;
  }
  return false;
}

/** The offset of the first byte that does not start or continue a well-formed UTF-8 sequence (for the message). */
function firstInvalidUtf8(bytes: Buffer): number {
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i]!;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    for (let next = i + 1; next < i + length; next++) if (next >= bytes.length || (bytes[next]! & 0xc0) !== 0x80) return i;
    i += length;
  }
  return 0; // an overlong form or a surrogate: the decoder knows where, the message need not
}

function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}
