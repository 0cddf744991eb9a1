import { randomBytes } from 'node:crypto';
import { AlertEventType, toError } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { AlertRuleRow } from '../db/schema/index.js';
import type { EventFeed } from '../events/feed.js';
import type { StoredEvent } from '../events/types.js';
import type { Logger } from '../logger.js';
import { EVALUATOR_ROLE, evaluateRule, KINDS, LeadershipLost, loadRuleRows } from '../registry/alerts/index.js';
import { acquireLeadership, releaseLeadership } from '../registry/leadership/index.js';
import { WakeLoop } from '../wake-loop.js';

export interface AlertEvaluatorOptions {
  /** Names this process as the leader (diagnostics); a random suffix keeps restarts apart. */
  name: string;
  /** How long leadership lasts unrenewed: a leader that dies is replaced after at most this. */
  leaderTtlMs: number;
  /** Every rule is evaluated at least this often (`for` deadlines, hold windows, sliding windows). */
  intervalMs: number;
  externalUrl: () => string;
  /** Called when evaluation queued webhook deliveries (this process's sender starts at once). */
  onQueued?: () => void;
}

/** setTimeout holds at most 2^31-1 ms; waits here are far shorter, but never trust a computed one. */
const MAX_WAIT_MS = 60_000;
/** Rules are re-read when an alert.rule.changed event says so, and this often regardless. */
const RULES_REFRESH_MS = 30_000;

/**
 * Evaluates alert rules, in one process across all servers at a time: the holder of the leader row
 * row in PostgreSQL (taken and renewed in one statement; another process takes over once it
 * lapses). The holder evaluates a rule as soon as this server's event feed shows an event that
 * concerns it (a health change of its service, a config write under its prefix…), and every
 * rule at each tick, for time-based conditions. Every write is fenced on leadership, so a holder
 * that lost it (a long pause) writes nothing.
 */
export class AlertEvaluator {
  readonly id: string;
  /** Whether this process led at its last look. */
  holding = false;
  private rules: AlertRuleRow[] = [];
  private readonly dirty = new Set<string>();
  private everything = true;
  private nextRenewAt = 0;
  private nextTickAt = 0;
  private rulesReadAt = 0;
  private nextDueAt: number | undefined;
  private readonly loop = new WakeLoop({ round: () => this.round(), waitMs: () => this.waitMs() });
  private unobserve: (() => void) | undefined;

  constructor(
    private readonly db: Db,
    private readonly feed: EventFeed,
    private readonly log: Logger,
    private readonly options: AlertEvaluatorOptions,
  ) {
    this.id = `${options.name}/${randomBytes(3).toString('hex')}`;
  }

  start(): void {
    this.unobserve = this.feed.observe(
      (events) => this.noticeEvents(events),
      () => this.wake(true), // events may have been missed while LISTEN reconnected: look at everything
    );
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.unobserve?.();
    await this.loop.stop();
    if (this.holding) {
      this.holding = false;
      await releaseLeadership(this.db, EVALUATOR_ROLE, this.id).catch((error: unknown) =>
        this.log.warn({ err: toError(error) }, 'could not hand over alert evaluation'),
      );
    }
  }

  private noticeEvents(events: readonly StoredEvent[]): void {
    if (!this.holding) return;
    for (const event of events) {
      if (event.type === AlertEventType.RULE_CHANGED) {
        this.everything = true;
        continue;
      }
      for (const rule of this.rules) if (KINDS[rule.kind].concerns(rule, event)) this.dirty.add(rule.id);
    }
    if (this.everything || this.dirty.size > 0) this.wake();
  }

  private wake(everything = false): void {
    if (everything) this.everything = true;
    this.loop.wake();
  }

  private async round(): Promise<void> {
    try {
      await this.renewIfDue();
      if (this.holding) await this.evaluateDue();
    } catch (error) {
      this.log.warn({ err: toError(error) }, 'alert evaluation failed; retrying');
      this.nextTickAt = Date.now() + this.options.intervalMs;
    }
  }

  /** Until the next renewal, tick or rule deadline, whichever is first. */
  private waitMs(): number {
    const until = Math.min(this.nextRenewAt, this.holding ? this.nextTickAt : Infinity, this.holding ? (this.nextDueAt ?? Infinity) : Infinity);
    return Math.min(Math.max(until - Date.now(), 5), MAX_WAIT_MS);
  }

  private async renewIfDue(): Promise<void> {
    const now = Date.now();
    if (now < this.nextRenewAt) return;
    this.nextRenewAt = now + this.options.leaderTtlMs / 3;
    const was = this.holding;
    try {
      this.holding = await acquireLeadership(this.db, EVALUATOR_ROLE, this.id, this.options.leaderTtlMs);
    } catch (error) {
      this.holding = false;
      throw error;
    }
    if (this.holding && !was) {
      this.log.info({ holder: this.id }, 'took the lead of alert evaluation');
      this.everything = true; // what happened before we held it is in the state, not in our feed
    } else if (!this.holding && was) {
      this.log.info({ holder: this.id }, 'lost the lead of alert evaluation');
    }
  }

  private async evaluateDue(): Promise<void> {
    const now = Date.now();
    let ids: string[];
    if (this.everything || now >= this.nextTickAt || (this.nextDueAt !== undefined && now >= this.nextDueAt)) {
      // Read rules only when they changed: an idle registry (no rules) costs no statement per tick.
      if (this.everything || now - this.rulesReadAt >= RULES_REFRESH_MS) {
        this.rules = await loadRuleRows(this.db);
        this.rulesReadAt = now;
      }
      this.everything = false;
      ids = this.rules.map((rule) => rule.id);
      this.nextTickAt = now + this.options.intervalMs;
      this.nextDueAt = undefined;
    } else {
      ids = [...this.dirty];
    }
    this.dirty.clear();
    let queued = 0;
    for (const id of ids) {
      if (this.loop.stopped) return;
      try {
        const result = await evaluateRule(this.db, id, { holder: this.id, externalUrl: this.options.externalUrl() });
        if (!result) continue;
        queued += result.deliveries;
        if (result.nextDueMs !== undefined) this.nextDueAt = Math.min(this.nextDueAt ?? result.nextDueMs, result.nextDueMs);
      } catch (error) {
        if (error instanceof LeadershipLost) {
          this.holding = false;
          this.nextRenewAt = 0;
          return;
        }
        this.log.warn({ err: toError(error), rule: id }, 'could not evaluate an alert rule');
      }
    }
    if (queued > 0) this.options.onQueued?.();
  }
}
