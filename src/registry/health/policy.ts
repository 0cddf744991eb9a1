import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { SwitchboardError } from '@switchboard/contracts';

/**
 * Which networks health checks may reach. A registry that probes URLs its clients
 * give it is a server-side request forgery tool unless the operator says where it
 * may point (say, the service networks, not the cloud metadata address or the
 * database). Unset: anywhere.
 *
 * Host names are checked after resolution, on the address actually connected to,
 * so a name that resolves somewhere else later cannot slip through.
 */
export class TargetPolicy {
  private readonly allowed: BlockList | undefined;

  /**
   * `webhooksMayTargetLocal` (SWITCHBOARD_WEBHOOK_ALLOW_LOCAL) travels here because alert rules are
   * checked against this policy (src/registry/alerts/webhook-addresses.ts); health checks ignore it.
   */
  constructor(
    readonly networks: readonly string[] | undefined,
    private readonly options: { webhooksMayTargetLocal?: boolean } = {},
  ) {
    if (!networks || networks.length === 0) return;
    this.allowed = new BlockList();
    for (const network of networks) {
      const [address, prefix] = network.split('/');
      const family = isIP(address ?? '');
      const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
      if (!family || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) {
        throw new Error(`"${network}" is not a network like 10.0.0.0/8 or fd00::/8.`);
      }
      this.allowed.addSubnet(address!, bits, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  get restricted(): boolean {
    return this.allowed !== undefined;
  }

  /** Whether alert webhooks may reach loopback, link-local and unspecified addresses (off unless the operator opts in). */
  get webhooksMayTargetLocal(): boolean {
    return this.options.webhooksMayTargetLocal ?? false;
  }

  allows(address: string): boolean {
    if (!this.allowed) return true;
    const family = isIP(address);
    return family !== 0 && this.allowed.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** At registration: an address written literally can be refused at once. */
  assertLiteralAllowed(host: string): void {
    const bare = host.replace(/^\[|\]$/g, '');
    if (isIP(bare) && !this.allows(bare)) {
      throw new SwitchboardError('FORBIDDEN', `Health checks may not target ${bare}: it is outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS.`, { host: bare });
    }
  }

  /** A drop-in for dns.lookup (as net and http take it) that refuses disallowed addresses. */
  readonly lookup = (
    hostname: string,
    options: { family?: number | string; all?: boolean } | number | undefined,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const permitted = addresses.filter((entry) => this.allows(entry.address));
      if (permitted.length === 0) {
        const refused = Object.assign(
          new Error(`${hostname} resolves to ${addresses.map((entry) => entry.address).join(', ')}, outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS`),
          {
            code: 'ETARGETNOTALLOWED',
          },
        );
        return callback(refused, '', 0);
      }
      const wantsAll = typeof options === 'object' && options?.all;
      if (wantsAll) return callback(null, permitted);
      callback(null, permitted[0]!.address, permitted[0]!.family);
    });
  };

  /** Resolves a host to one permitted address (for clients that take no lookup function). */
  resolve(hostname: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.lookup(hostname, undefined, (error, address) => (error ? reject(error) : resolve(address as string)));
    });
  }
}
