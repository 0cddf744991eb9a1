import { effectiveStatus } from '../registry/health/model.js';
import type { ServiceInstance } from '../registry/instances/model.js';
import { hostPort } from '../net.js';

/** One target group of Prometheus's HTTP service discovery (`http_sd_configs`). */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

const LABEL = '__meta_switchboard_';
/** Separator around and between tags, as Prometheus's Consul SD writes `__meta_consul_tags`. */
const TAG_SEPARATOR = ',';

/**
 * A group per instance, so each target carries its own labels. The labels follow
 * Prometheus's Consul SD with `switchboard` for `consul`: relabeling rules written for
 * one carry over by renaming the prefix.
 */
export function targetGroup(instance: ServiceInstance, datacenter: string): TargetGroup {
  const labels: Record<string, string> = {
    [`${LABEL}service`]: instance.name,
    [`${LABEL}service_id`]: instance.id,
    [`${LABEL}version`]: instance.version ?? '',
    [`${LABEL}health`]: healthLabel(instance),
    // Surrounded by separators too, so a rule matches ",canary," wherever the tag sits.
    [`${LABEL}tags`]: TAG_SEPARATOR + instance.tags.join(TAG_SEPARATOR) + TAG_SEPARATOR,
    [`${LABEL}datacenter`]: datacenter,
  };
  for (const key of Object.keys(instance.metadata).sort()) {
    labels[`${LABEL}metadata_${sanitizeLabelName(key)}`] = instance.metadata[key]!;
  }
  // Without a port the target is the host alone: Prometheus then uses the scheme's port.
  return { targets: [hostPort(instance.address, instance.port)], labels };
}

/** As Consul's aggregated status reads: maintenance wins over the checks. */
function healthLabel(instance: ServiceInstance): string {
  return instance.maintenanceSince ? 'maintenance' : effectiveStatus(instance).toLowerCase();
}

/** Label names are [a-zA-Z_][a-zA-Z0-9_]*; metadata keys may hold "." and "-" (Prometheus's strutil.SanitizeLabelName). */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}
