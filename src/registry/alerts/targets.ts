import { isIP } from 'node:net';
import { SwitchboardError } from '@switchboard/contracts';
import type { TargetPolicy } from '../health/policy.js';

/** The host of a webhook URL, without IPv6 brackets. */
export function webhookHost(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

function refused(url: string, reason: string): SwitchboardError {
  return new SwitchboardError('FORBIDDEN', `Webhooks may not target ${url}: ${reason}, outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS.`, { url });
}

/**
 * Webhook targets obey the health checks' network allowlist: a registry that POSTs to URLs its
 * clients give it is otherwise a request-forgery tool. At rule creation a literal address is
 * refused at once, and a name that resolves only outside the allowlist too; a name that does
 * not resolve yet is accepted (the sender checks again on every attempt, on the address it
 * connects to, as DNS may change).
 */
export async function assertWebhookAllowed(policy: TargetPolicy, url: string): Promise<void> {
  if (!policy.restricted) return;
  const host = webhookHost(url);
  if (isIP(host)) {
    if (!policy.allows(host)) throw refused(url, `${host} is`);
    return;
  }
  try {
    await policy.resolve(host);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ETARGETNOTALLOWED') throw refused(url, `${host} resolves to addresses`);
  }
}
