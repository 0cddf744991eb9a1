import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { startPeriodic, type Periodic } from '../periodic.js';
import { renewalIntervalMs, renewSessionLeases, SessionLimits, type SessionBinding } from '../registry/services/index.js';

/**
 * The client sessions connected to this server right now (graphql-ws
 * `connectionParams.sessionId`), and the renewal of their ephemeral instances' leases:
 * every renewal interval, one statement for all of them; a session that connects
 * (or reconnects, from this server or another) is renewed at once, which reclaims its
 * instances if their grace period has not run out. See registry/services/ephemeral.ts.
 */
export class ConnectedSessions {
  /** Open connections per session: a client may briefly hold two (the old one not yet closed). */
  private readonly connections = new Map<string, number>();
  private readonly reclaiming = new Set<string>();
  private reclaim: Promise<void> | undefined;
  private periodic: Periodic | undefined;

  constructor(
    private readonly db: Db,
    readonly graceMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    let lastRenewal = performance.now();
    this.periodic = startPeriodic('ephemeral lease renewal', renewalIntervalMs(this.graceMs), this.log, async () => {
      await renewSessionLeases(this.db, [...this.connections.keys()], this.graceMs);
      // Renewals that come this late leave other servers' sweeps little room: say so before one wins.
      const sincePrevious = performance.now() - lastRenewal;
      lastRenewal = performance.now();
      if (sincePrevious > (this.graceMs * 2) / 3) {
        this.log.warn(
          { sinceLastRenewalMs: Math.round(sincePrevious), graceMs: this.graceMs, sessions: this.connections.size },
          'ephemeral lease renewal is late (a busy event loop or database): connected clients’ instances may lapse',
        );
      }
      return false;
    });
  }

  /**
   * The sessions connected here now. This server's expiry sweep never removes their
   * instances: it knows they are live even when its own renewal is late (a stalled event
   * loop runs its timers in any order when it resumes).
   */
  connectedIds(): string[] {
    return [...this.connections.keys()];
  }

  /**
   * Binds a connection to its session: the session's instances are renewed until the
   * returned function is called (when the connection closes).
   */
  attach(sessionId: string): { binding: SessionBinding; detach: () => void } {
    this.connections.set(sessionId, (this.connections.get(sessionId) ?? 0) + 1);
    this.renewSoon(sessionId);
    let attached = true;
    const detach = () => {
      if (!attached) return;
      attached = false;
      const left = this.connections.get(sessionId)! - 1;
      if (left === 0) this.connections.delete(sessionId);
      else this.connections.set(sessionId, left);
    };
    return { binding: { id: sessionId, graceMs: this.graceMs }, detach };
  }

  /** Stops renewing; the leases then lapse unless the clients reconnect to another server. */
  async stop(): Promise<void> {
    await this.periodic?.stop();
    await this.reclaim;
  }

  /** Renews newly connected sessions together, from the next turn of the event loop on. */
  private renewSoon(sessionId: string): void {
    this.reclaiming.add(sessionId);
    this.reclaim ??= this.renewReclaiming().finally(() => (this.reclaim = undefined));
  }

  private async renewReclaiming(): Promise<void> {
    try {
      while (this.reclaiming.size > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        const sessions = [...this.reclaiming].filter((id) => this.connections.has(id));
        this.reclaiming.clear();
        await renewSessionLeases(this.db, sessions, this.graceMs);
      }
    } catch (error) {
      this.reclaiming.clear();
      this.log.warn({ err: error }, 'renewing newly connected sessions failed; the periodic renewal retries');
    }
  }
}

/** `connectionParams.sessionId`: undefined when absent, null when it is not a usable id. */
export function sessionIdParam(params: Record<string, unknown> | undefined): string | undefined | null {
  const value = params?.['sessionId'];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' && value.length >= SessionLimits.minLength && value.length <= SessionLimits.maxLength ? value : null;
}
