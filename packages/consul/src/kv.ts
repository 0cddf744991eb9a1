import type { ConsulAnswer, ConsulHttp } from './http.js';
import { isRecord } from './instances.js';

/** One KVPair of Consul's answer, its value decoded to text. */
export interface KvEntry {
  key: string;
  /** The value's bytes as UTF-8 text; '' for an empty value (Consul's `null`). */
  text: string;
  createIndex: number;
  modifyIndex: number;
}

/** Consul's KV store under /v1/kv: the reads and writes the config, component and event stores share. */
export class Kv {
  constructor(private readonly http: ConsulHttp) {}

  /** The entry at `key`, or undefined; `index` is the answer's X-Consul-Index (a missing key has one too). */
  async get(key: string): Promise<{ entry: KvEntry | undefined; index: number | undefined }> {
    const answer = await this.http.request({ method: 'GET', path: kvPath(key), notFoundIsAnswer: true });
    return { entry: entriesOf(answer, () => {})[0], index: answer.index };
  }

  /** Every entry under `prefix` (Consul's `?recurse`), in key order. */
  async list(prefix: string, warn: (message: string) => void): Promise<KvEntry[]> {
    return entriesOf(await this.http.request({ method: 'GET', path: kvPath(prefix), query: { recurse: true }, notFoundIsAnswer: true }), warn);
  }

  /** The keys under `prefix`, rolled up at `separator` when given (Consul's `?keys&separator=`). */
  async keys(prefix: string, separator?: string): Promise<string[]> {
    const answer = await this.http.request({ method: 'GET', path: kvPath(prefix), query: { keys: true, separator }, notFoundIsAnswer: true });
    if (answer.status === 404) return [];
    const keys: unknown = JSON.parse(answer.text);
    return Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : [];
  }

  /** Writes `text` at `key`; with `cas`, only if the key's ModifyIndex is still that (0: only if absent). True when written. */
  async put(key: string, text: string, cas?: number): Promise<boolean> {
    const answer = await this.http.request({ method: 'PUT', path: kvPath(key), body: text, query: { cas } });
    return answer.text.trim() === 'true';
  }

  async delete(key: string, options: { recurse?: boolean } = {}): Promise<void> {
    await this.http.request({ method: 'DELETE', path: kvPath(key), query: { recurse: options.recurse || undefined } });
  }
}

/** "/v1/kv/a/b c" with each part encoded and the slashes kept: Consul's keys are paths. */
export function kvPath(key: string): string {
  return `/v1/kv/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The KVPairs of a KV answer (none for a 404), each value decoded from base64. Malformed pairs are warned of and skipped. */
export function entriesOf(answer: ConsulAnswer, warn: (message: string) => void): KvEntry[] {
  if (answer.status === 404) return [];
  const pairs: unknown = JSON.parse(answer.text);
  if (!Array.isArray(pairs)) throw new Error('the answer is not a list of KV pairs');
  const entries: KvEntry[] = [];
  for (const pair of pairs) {
    if (!isRecord(pair) || typeof pair['Key'] !== 'string' || (pair['Value'] !== null && typeof pair['Value'] !== 'string')) {
      warn('skipped a KV pair without a Key or with a Value that is not base64 text');
      continue;
    }
    entries.push({
      key: pair['Key'],
      text: pair['Value'] === null ? '' : Buffer.from(pair['Value'], 'base64').toString('utf8'),
      createIndex: typeof pair['CreateIndex'] === 'number' ? pair['CreateIndex'] : 0,
      modifyIndex: typeof pair['ModifyIndex'] === 'number' ? pair['ModifyIndex'] : 0,
    });
  }
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A value this package wrote as JSON; undefined (warned of) when it is not JSON: someone else wrote it. */
export function parseJson(entry: KvEntry, warn: (message: string) => void): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(entry.text) as unknown };
  } catch {
    warn(`KV "${entry.key.slice(0, 200)}" does not hold JSON (${entry.text.length} characters); ignored`);
    return undefined;
  }
}

/**
 * An id as one KV key part that any Consul accepts (Switchboard's API takes letters, digits, "_" and "-"
 * only): every other byte, and "_" itself, is written "_XX" (hex). "http-client@1.2.0" → "http-client_401_2E2_2E0".
 */
export function encodeKeyPart(id: string): string {
  let encoded = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const character = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9-]/.test(character) ? character : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** The id `encodeKeyPart` wrote; undefined when `part` is not one of its outputs. */
export function decodeKeyPart(part: string): string | undefined {
  if (!/^([A-Za-z0-9-]|_[0-9A-F]{2})+$/.test(part)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < part.length; i++) {
    if (part[i] === '_') {
      bytes.push(parseInt(part.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(part.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}
