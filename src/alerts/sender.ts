import { randomBytes } from 'node:crypto';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import { toError } from '@switchboard/contracts';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import {
  claimDueDeliveries,
  DELIVERY_HEADER,
  millisUntilNextDelivery,
  recordDeliveryOutcome,
  releaseDeliveryClaims,
  SIGNATURE_HEADER,
  signPayload,
  TIMESTAMP_HEADER,
  webhookHost,
  type ClaimedDelivery,
  type DeliveryOutcome,
} from '../registry/alerts/index.js';
import { addressRefusal, REFUSED_CODE, webhookLookup } from '../registry/alerts/webhook-addresses.js';
import type { TargetPolicy } from '../registry/health/policy.js';
import { WakeLoop } from '../wake-loop.js';

export interface WebhookSenderOptions {
  name: string;
  targets: TargetPolicy;
  /** How long a receiver has to answer. */
  timeoutMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The wait before the second attempt; doubled each time after, with jitter, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs?: number;
  /** POSTs in flight at once, at most. */
  concurrency?: number;
  /**
   * Longest sleep between looks for due deliveries. Deliveries queued anywhere wake the sender at
   * once (this server's evaluator, or the alert events its feed reads), and retries are waited for
   * until they fall due; this is the safety net.
   */
  pollMs?: number;
}

const ERROR_LIMIT = 512;

/**
 * The retry delay for the attempt after `attempt`: exponential, with "equal jitter" (half fixed,
 * half random), so receivers that failed together are not hit again in step.
 */
export function retryDelayMs(attempt: number, backoffMs: number, maxBackoffMs: number): number {
  const base = Math.min(backoffMs * 2 ** Math.max(attempt - 1, 0), maxBackoffMs);
  return base / 2 + Math.random() * (base / 2);
}

/** 5xx, 408 and 429 may succeed later; other 4xx answers will not (Alertmanager's rule too). */
function retryable(statusCode: number): boolean {
  return statusCode >= 500 || statusCode === 408 || statusCode === 429;
}

/**
 * Sends queued webhook deliveries, on every server: claims due rows (SKIP LOCKED, so servers
 * share the work and each delivery goes out once per attempt), POSTs each with no transaction
 * open, signed, to an address the network allowlist admits and that is not loopback, link-local or
 * unspecified unless the operator allows those (checked on the address connected to), and
 * records the outcome: delivered, retried later with backoff, or failed.
 */
export class WebhookSender {
  readonly id: string;
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;
  private readonly running = new Set<Promise<void>>();
  private readonly loop = new WakeLoop({ round: () => this.round(), waitMs: () => this.waitMs() });

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly options: WebhookSenderOptions,
  ) {
    this.id = `${options.name}/${randomBytes(3).toString('hex')}`;
    // Every connection's address comes from this lookup, which drops refused ones: the check is on
    // the address connected to, with no gap for DNS to change in.
    const agentOptions = { keepAlive: true, lookup: webhookLookup(options.targets) };
    this.http = new HttpAgent(agentOptions);
    this.https = new HttpsAgent(agentOptions);
  }

  start(): void {
    this.loop.start();
  }

  /** Look for due deliveries now (one was just queued). */
  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.allSettled(this.running);
    await releaseDeliveryClaims(this.db, this.id).catch((error: unknown) => this.log.warn({ err: toError(error) }, 'could not release webhook claims'));
    this.http.destroy();
    this.https.destroy();
  }

  private get concurrency(): number {
    return this.options.concurrency ?? 16;
  }

  /** Claims and launches what is due, as many as there is room for; true when that filled the room (look again at once). */
  private async round(): Promise<boolean> {
    const free = this.concurrency - this.running.size;
    if (free <= 0) return false;
    try {
      // Claimed for longer than a POST may take, so no other server sends it meanwhile.
      const claimed = await claimDueDeliveries(this.db, this.id, free, this.options.timeoutMs + 5_000);
      for (const delivery of claimed) this.launch(delivery);
      return claimed.length === free;
    } catch (error) {
      this.log.warn({ err: toError(error) }, 'could not claim webhook deliveries; retrying');
      return false;
    }
  }

  /** Until the next delivery falls due (with room to send it), at most pollMs. */
  private async waitMs(): Promise<number> {
    const pollMs = this.options.pollMs ?? 10_000;
    if (this.running.size >= this.concurrency) return pollMs;
    const untilDue = await millisUntilNextDelivery(this.db).catch(() => undefined);
    return untilDue === undefined ? pollMs : Math.min(Math.max(untilDue, 10), pollMs);
  }

  private launch(delivery: ClaimedDelivery): void {
    const task = this.attempt(delivery)
      .then((outcome) => recordDeliveryOutcome(this.db, this.id, outcome))
      .catch((error: unknown) => this.log.warn({ err: toError(error), delivery: delivery.id }, 'could not record a webhook delivery'))
      .finally(() => {
        this.running.delete(task);
        this.wake();
      });
    this.running.add(task);
  }

  private async attempt(delivery: ClaimedDelivery): Promise<DeliveryOutcome> {
    const failed = (statusCode: number | null, error: string, retry: boolean): DeliveryOutcome => ({
      id: delivery.id,
      delivered: false,
      statusCode,
      error: error.slice(0, ERROR_LIMIT),
      retryInMs:
        retry && delivery.attempt < this.options.maxAttempts
          ? retryDelayMs(delivery.attempt, this.options.backoffMs, this.options.maxBackoffMs ?? 300_000)
          : undefined,
    });
    const host = webhookHost(delivery.url);
    // A literal address is never looked up, so the agent's lookup cannot refuse it: check it here.
    const refusal = isIP(host) ? addressRefusal(this.options.targets, host) : undefined;
    if (refusal) return failed(null, `refused: ${refusal}`, false);
    try {
      const statusCode = await this.post(delivery);
      if (statusCode >= 200 && statusCode < 300) return { id: delivery.id, delivered: true, statusCode, error: null, retryInMs: undefined };
      return failed(statusCode, `the receiver answered ${statusCode}`, retryable(statusCode));
    } catch (error) {
      const err = toError(error) as NodeJS.ErrnoException;
      if (err.code === REFUSED_CODE) return failed(null, `refused: ${err.message}`, false);
      return failed(null, err.message || String(err.code), true);
    }
  }

  /** One POST; resolves with the status code (the body is read and dropped). */
  private post(delivery: ClaimedDelivery): Promise<number> {
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Switchboard-Alerts',
      [DELIVERY_HEADER]: String(delivery.id),
      [TIMESTAMP_HEADER]: String(timestamp),
    };
    if (delivery.secret) headers[SIGNATURE_HEADER] = signPayload(delivery.secret, timestamp, body);
    const secure = delivery.url.startsWith('https:');
    const request = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        delivery.url,
        { method: 'POST', headers, agent: secure ? this.https : this.http, signal: AbortSignal.timeout(this.options.timeoutMs) },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', (error) => reject(error.name === 'AbortError' ? new Error(`no answer within ${this.options.timeoutMs}ms`) : error));
      req.end(body);
    });
  }
}
