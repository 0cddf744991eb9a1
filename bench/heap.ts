import WebSocket from 'ws';
import { residentBytes } from './support.js';

/** A process's memory after forced garbage collections: V8's heap, memory outside it, and resident pages. */
export interface MemoryReading {
  /** V8 heap in use (process.memoryUsage().heapUsed). */
  heapBytes: number;
  /** Memory of objects V8 tracks outside its heap: Buffers, ArrayBuffers, native handles that report it. */
  externalBytes: number;
  /** Resident set size (VmRSS). */
  rssBytes: number;
}

/** What a round of connections added to the server, per connection. */
export interface MemoryGrowth {
  /** V8 heap retained after forced collections. */
  heapBytes: number;
  /** Buffers and other memory V8 tracks outside its heap. */
  externalBytes: number;
  /** Resident set size growth over the measured round (after a warm-up round of as many connections). */
  rssBytes: number;
  /** The same growth in the warm-up round, from the freshly started server: the runtime's one-time growth included. */
  coldRssBytes: number;
}

/** Both rounds' readings, per connection. */
export function memoryGrowth(readings: { cold: [MemoryReading, MemoryReading]; warm: [MemoryReading, MemoryReading] }, connections: number): MemoryGrowth {
  const [before, after] = readings.warm;
  return {
    heapBytes: (after.heapBytes - before.heapBytes) / connections,
    externalBytes: (after.externalBytes - before.externalBytes) / connections,
    rssBytes: (after.rssBytes - before.rssBytes) / connections,
    coldRssBytes: (readings.cold[1].rssBytes - readings.cold[0].rssBytes) / connections,
  };
}

/** Objects grouped by constructor (or by kind for strings, code, arrays...): how many and their own sizes. */
export type HeapSummary = Map<string, { count: number; bytes: number }>;

/**
 * The inspector of a process started with `--inspect=127.0.0.1:0` (startServer's `nodeArgs`): forced
 * garbage collections and heap figures of a benchmark's server without an endpoint in the server itself.
 */
export class Inspector {
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  private chunks: string[] | undefined;

  private constructor(
    private readonly socket: WebSocket,
    private readonly pid: number,
  ) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: { chunk: string };
      };
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') this.chunks?.push(message.params!.chunk);
      if (message.id === undefined) return;
      const call = this.calls.get(message.id);
      this.calls.delete(message.id);
      if (message.error) call?.reject(new Error(message.error.message));
      else call?.resolve(message.result);
    });
  }

  static async connect(url: string, pid: number): Promise<Inspector> {
    // A heap snapshot arrives in chunks of many megabytes: no payload limit.
    const socket = new WebSocket(url, { maxPayload: 0, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new Inspector(socket, pid);
  }

  /**
   * Collects garbage a few times (objects kept by finalizers and weak callbacks go in a later
   * collection than the one that found them unreachable), then reads the process's memory.
   */
  async memoryAfterGc(): Promise<MemoryReading> {
    for (let collection = 0; collection < 3; collection++) {
      await this.call('HeapProfiler.collectGarbage');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { result } = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result: { value: string };
    };
    const usage = JSON.parse(result.value) as NodeJS.MemoryUsage;
    return { heapBytes: usage.heapUsed, externalBytes: usage.external, rssBytes: residentBytes(this.pid) };
  }

  /** A heap snapshot (taking one collects garbage first) summarised by constructor. */
  async heapSummary(): Promise<HeapSummary> {
    this.chunks = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
    const text = this.chunks.join('');
    this.chunks = undefined;
    return summarise(JSON.parse(text) as HeapSnapshot);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }
}

/** The parts of V8's heap snapshot format (.heapsnapshot) a summary reads. */
interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Kinds whose name says what the object is (a constructor, a closure's function, an internal structure). */
const NAMED = new Set(['object', 'closure', 'native', 'hidden', 'array', 'regexp', 'object shape', 'synthetic']);

function summarise(snapshot: HeapSnapshot): HeapSummary {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [type, name, size] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number];
  const summary: HeapSummary = new Map();
  for (let node = 0; node < snapshot.nodes.length; node += fields.length) {
    const kind = types[snapshot.nodes[node + type]!]!;
    const key = NAMED.has(kind) ? `${kind === 'object' ? '' : `(${kind}) `}${snapshot.strings[snapshot.nodes[node + name]!]}` : `(${kind})`;
    const entry = summary.get(key) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += snapshot.nodes[node + size]!;
    summary.set(key, entry);
  }
  return summary;
}

/**
 * What `connections` added between two summaries, per connection, largest first: the top `limit` groups as
 * "name ×count/connection bytes/connection" and the total of all groups per connection.
 */
export function perConnection(before: HeapSummary, after: HeapSummary, connections: number, limit = 12): { top: string[]; bytes: number } {
  const growth = [...after].map(([key, { count, bytes }]) => ({
    key,
    count: (count - (before.get(key)?.count ?? 0)) / connections,
    bytes: (bytes - (before.get(key)?.bytes ?? 0)) / connections,
  }));
  growth.sort((a, b) => b.bytes - a.bytes);
  return {
    top: growth.slice(0, limit).map(({ key, count, bytes }) => `${key} ×${count.toFixed(1)} ${bytes.toFixed(0)} B`),
    bytes: growth.reduce((total, { bytes }) => total + bytes, 0),
  };
}

/** The WebSocket connections open on the server at `graphqlUrl`, as its /metrics reports them. */
export async function openWebSockets(graphqlUrl: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', graphqlUrl))).text();
  const open = /^switchboard_websocket_connections_open (\d+)/m.exec(text)?.[1];
  if (open === undefined) throw new Error('/metrics has no switchboard_websocket_connections_open');
  return Number(open);
}

/**
 * Waits until the server at `graphqlUrl` has `count` WebSocket connections open: a reading taken right
 * after a load process exits would otherwise count connections whose close is still queued.
 */
export async function untilWebSockets(graphqlUrl: string, count: number, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const open = await openWebSockets(graphqlUrl);
    if (open === count) return;
    if (Date.now() > deadline) throw new Error(`${open} WebSocket connections open, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
