import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { TargetPolicy } from '../health/policy.js';

/** The setting that lets webhooks reach the addresses below (docs/alerts.md). */
export const ALLOW_LOCAL_SETTING = 'SWITCHBOARD_WEBHOOK_ALLOW_LOCAL';

/** The error code of a lookup that found only refused addresses (the health policy's code too). */
export const REFUSED_CODE = 'ETARGETNOTALLOWED';

type Family = 'ipv4' | 'ipv6';

/**
 * Addresses a webhook may not reach unless the operator opts in: they lead to the registry's own
 * host (loopback; 0.0.0.0 and :: connect there on Linux) or to its link (169.254.169.254 is the
 * cloud metadata service). IPv4-mapped IPv6 forms are listed as IPv6 ranges of their own rather
 * than trusting BlockList to map them: `[::ffff:169.254.169.254]` must not be a way round.
 */
const LOCAL_RANGES: readonly [kind: string, address: string, prefix: number, family: Family][] = [
  // 0.0.0.0/8, "this network": no receiver lives there, and 0.0.0.0 itself reaches this host.
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  // The deprecated IPv4-compatible forms (::a.b.c.d): no sane receiver lives there.
  ['deprecated IPv4-compatible', '::', 96, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['unspecified', '::ffff:0.0.0.0', 104, 'ipv6'],
  ['loopback', '::ffff:127.0.0.0', 104, 'ipv6'],
  ['link-local', '::ffff:169.254.0.0', 112, 'ipv6'],
];

const LOCAL = LOCAL_RANGES.map(([kind, address, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { kind, list, family };
});

/** "loopback", "link-local", ... when `address` (an IP) is one a webhook may not reach by default. */
export function localKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  return LOCAL.find((range) => range.family === (family === 6 ? 'ipv6' : 'ipv4') && range.list.check(address, range.family))?.kind;
}

/** Why a webhook may not connect to `address` (an IP) under `policy`; undefined when it may. */
export function addressRefusal(policy: TargetPolicy, address: string): string | undefined {
  if (!policy.allows(address)) return `${address} is outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS`;
  const kind = policy.webhooksMayTargetLocal ? undefined : localKind(address);
  if (kind) return `${address} is a ${kind} address (set ${ALLOW_LOCAL_SETTING}=true to allow loopback, link-local and unspecified addresses)`;
  return undefined;
}

/** `localhost` and `*.localhost` are loopback by definition (RFC 6761 §6.3), whatever a resolver says now. */
function isLoopbackName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Why a webhook may not target the name `host` whatever it resolves to; undefined when it may. */
export function nameRefusal(policy: TargetPolicy, host: string): string | undefined {
  if (policy.webhooksMayTargetLocal || !isLoopbackName(host)) return undefined;
  return `${host} is a loopback name (set ${ALLOW_LOCAL_SETTING}=true to allow loopback, link-local and unspecified addresses)`;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A drop-in for dns.lookup, for the webhook agents: the addresses it hands to `connect` are the ones
 * checked, so a name whose answer changes after the rule was checked (DNS rebinding) cannot reach a
 * refused address. Refused addresses are dropped; when none is left the lookup fails with
 * REFUSED_CODE (a literal address is never looked up: check it with addressRefusal first).
 */
export function webhookLookup(policy: TargetPolicy) {
  return (hostname: string, options: { family?: number | string; all?: boolean } | number | undefined, callback: LookupCallback): void => {
    const requested = typeof options === 'number' ? options : options?.family;
    const family = requested === 4 || requested === 'IPv4' ? 4 : requested === 6 || requested === 'IPv6' ? 6 : 0;
    dnsLookup(hostname, { all: true, family }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const permitted = addresses.filter((entry) => addressRefusal(policy, entry.address) === undefined);
      if (permitted.length === 0) {
        const reasons = addresses.map((entry) => addressRefusal(policy, entry.address)).join('; ');
        return callback(Object.assign(new Error(`${hostname} resolves only to refused addresses: ${reasons}`), { code: REFUSED_CODE }), '', 0);
      }
      if (typeof options === 'object' && options?.all) return callback(null, permitted);
      callback(null, permitted[0]!.address, permitted[0]!.family);
    });
  };
}

/** Resolves `hostname` through webhookLookup: one permitted address, or a REFUSED_CODE error. */
export function resolveWebhookHost(policy: TargetPolicy, hostname: string): Promise<string> {
  const lookup = webhookLookup(policy);
  return new Promise((resolve, reject) => lookup(hostname, undefined, (error, address) => (error ? reject(error) : resolve(address as string))));
}
