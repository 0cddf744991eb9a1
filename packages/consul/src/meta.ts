/**
 * What Consul has no field for is kept in the service's Meta under these keys, so that it reads back the
 * way it was registered. Consul's rules for Meta: keys of letters, digits, "_" and "-" (128 at most, "consul-"
 * reserved), values of 512 bytes at most, 64 pairs at most; ours are named so that none of them collides.
 */
export const MetaKey = {
  version: 'switchboard-version',
  weight: 'switchboard-weight',
  priority: 'switchboard-priority',
  /** Comma-separated: "http,grpc". */
  protocols: 'switchboard-protocols',
  /** The lease ("30s"), as registered. */
  ttl: 'switchboard-ttl',
  /** ISO-8601: when the definition was last registered. */
  registeredAt: 'switchboard-registered-at',
  /** The endpoints as JSON, cut in values of at most 512 bytes: switchboard-endpoints-0, -1, … */
  endpoints: 'switchboard-endpoints',
} as const;

export const RESERVED_META_PREFIX = 'switchboard-';
export const MAX_META_PAIRS = 64;
export const MAX_META_VALUE_BYTES = 512;

export const endpointsChunkKey = (n: number) => `${MetaKey.endpoints}-${n}`;

/** Splits `text` into pieces of at most `maxBytes` UTF-8 bytes, never inside a character. */
export function chunkByBytes(text: string, maxBytes: number): string[] {
  const chunks: string[] = [];
  let current = '';
  let size = 0;
  for (const character of text) {
    const bytes = Buffer.byteLength(character);
    if (size + bytes > maxBytes) {
      chunks.push(current);
      current = '';
      size = 0;
    }
    current += character;
    size += bytes;
  }
  if (current !== '') chunks.push(current);
  return chunks;
}
