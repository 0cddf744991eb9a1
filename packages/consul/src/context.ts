import type { Stop } from '@switchboard/sdk';
import type { ConsulHttp } from './http.js';
import type { Kv } from './kv.js';
import type { ConsulSettings } from './options.js';

/** What the stores and watches of one ConsulRegistry share. */
export interface RegistryContext {
  settings: ConsulSettings;
  http: ConsulHttp;
  kv: Kv;
  /** settings.warn, each distinct message once (a malformed entry is seen again on every answer). */
  warn: (message: string) => void;
  running: RunningWatches;
}

/** The watches and subscriptions still running: `close()` ends them. */
export class RunningWatches {
  private readonly stops = new Set<Stop>();

  /** Tracks `stop`; returns the Stop to hand out, which also forgets it. Safe to call twice. */
  add(stop: Stop): Stop {
    let stopping: Promise<void> | undefined;
    const tracked: Stop = () => {
      this.stops.delete(tracked);
      return (stopping ??= stop());
    };
    this.stops.add(tracked);
    return tracked;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.stops].map((stop) => stop()));
  }
}

/** Each distinct warning once; the memory of them is bounded (it forgets all after 1,000). */
export function warnOnce(warn: (message: string) => void): (message: string) => void {
  const said = new Set<string>();
  return (message) => {
    if (said.has(message)) return;
    if (said.size >= 1_000) said.clear();
    said.add(message);
    warn(message);
  };
}
