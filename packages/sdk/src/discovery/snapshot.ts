import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DiscoveredInstance } from './types.js';

/** One service as last known, on disk. */
export interface SnapshotEntry {
  /** The last moment these instances were known to be current (ISO-8601). */
  knownAt: string;
  instances: DiscoveredInstance[];
}

interface SnapshotFile {
  version: 1;
  services: Record<string, SnapshotEntry>;
}

/**
 * The failover cache on disk (as Nacos keeps one): every service this process discovered, rewritten when
 * the cache changes, read when the registry cannot be reached so a process that starts during an outage
 * still finds its dependencies. Services of earlier runs that this one has not looked up are kept.
 */
export class DiscoverySnapshot {
  private stored: Promise<Record<string, SnapshotEntry>> | undefined;
  private pending: Record<string, SnapshotEntry> = {};
  private writing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(private readonly file: string) {}

  /** The service as the file last recorded it, if it did. */
  async read(name: string): Promise<SnapshotEntry | undefined> {
    return (await this.load())[name];
  }

  /** Records a service; writes are coalesced and run one at a time, each replacing the file whole (write, then rename). */
  save(name: string, entry: SnapshotEntry): void {
    this.pending[name] = entry;
    if (this.scheduled) return;
    this.scheduled = true;
    this.writing = this.writing.then(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.scheduled = false;
      const services = await this.load();
      Object.assign(services, this.pending);
      this.pending = {};
      const content: SnapshotFile = { version: 1, services };
      const temporary = `${this.file}.${process.pid}.tmp`;
      await mkdir(path.dirname(this.file), { recursive: true });
      await writeFile(temporary, JSON.stringify(content));
      await rename(temporary, this.file);
    });
    // A failed write must not break the next one; the cache itself is unaffected.
    this.writing = this.writing.catch(() => {});
  }

  /** Resolves once every recorded change is on disk. */
  async flush(): Promise<void> {
    while (this.scheduled) await this.writing;
    await this.writing;
  }

  private load(): Promise<Record<string, SnapshotEntry>> {
    this.stored ??= readFile(this.file, 'utf8').then(
      (text) => {
        const parsed = JSON.parse(text) as Partial<SnapshotFile>;
        return parsed.version === 1 && parsed.services ? parsed.services : {};
      },
      // No file yet (or unreadable): nothing was known.
      () => ({}),
    );
    return this.stored;
  }
}
