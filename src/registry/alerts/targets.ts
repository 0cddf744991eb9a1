import { isIP } from 'node:net';
import { SwitchboardError } from '@switchboard/contracts';
import type { TargetPolicy } from '../health/policy.js';
import { addressRefusal, nameRefusal, REFUSED_CODE, resolveWebhookHost } from './webhook-addresses.js';

/** The host of a webhook URL, without IPv6 brackets. */
export function webhookHost(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

function refused(url: string, reason: string): SwitchboardError {
  return new SwitchboardError('FORBIDDEN', `Webhooks may not target ${url}: ${reason}.`, { url });
}

/**
 * A registry that POSTs to URLs its clients give it is otherwise a request-forgery tool. Webhook
 * targets obey the health checks' network allowlist, and, unless the operator opts in
 * (SWITCHBOARD_WEBHOOK_ALLOW_LOCAL), may not be loopback, link-local (cloud metadata) or
 * unspecified addresses, whatever the allowlist says. At rule creation a literal address is
 * refused at once, and a name that resolves only to refused addresses, or a loopback name
 * (`*.localhost`), too; another name that does not resolve yet is accepted (the sender checks
 * again on every attempt, on the address it connects to, as DNS may change).
 */
export async function assertWebhookAllowed(policy: TargetPolicy, url: string): Promise<void> {
  const host = webhookHost(url);
  if (isIP(host)) {
    const refusal = addressRefusal(policy, host);
    if (refusal) throw refused(url, refusal);
    return;
  }
  if (policy.restricted || !policy.webhooksMayTargetLocal) {
    try {
      await resolveWebhookHost(policy, host);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === REFUSED_CODE) throw refused(url, (error as Error).message);
    }
  }
  // A loopback name that does not resolve here today may resolve tomorrow, or on another server.
  const refusal = nameRefusal(policy, host);
  if (refusal) throw refused(url, refusal);
}
