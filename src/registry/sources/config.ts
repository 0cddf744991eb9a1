/** The backends a source can be, and the package each is loaded from (installed only by those who use it). */
export const SOURCE_PACKAGES = {
  etcd: { packageName: '@switchboard/etcd', className: 'EtcdRegistry' },
  consul: { packageName: '@switchboard/consul', className: 'ConsulRegistry' },
  kubernetes: { packageName: '@switchboard/kubernetes', className: 'KubernetesRegistry' },
} as const;

export type SourceType = keyof typeof SOURCE_PACKAGES;

/** One entry of SWITCHBOARD_SOURCES. */
export interface SourceConfig {
  /** Names the source in its instances' `source`, in refusals, events, logs and metrics. */
  name: string;
  type: SourceType;
  /** Everything else in the entry: handed to the backend's constructor as its options. */
  options: Record<string, unknown>;
}

/** A name goes into metric labels, lease roles and messages: kept short and plain. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * SWITCHBOARD_SOURCES: a JSON array of `{ "name": …, "type": "etcd" | "consul" | "kubernetes", …options }`.
 * Throws an Error whose message names the entry at fault (the settings loader makes it a SettingsError).
 * The options themselves are the backend's to judge: it is constructed with them at start-up.
 */
export function parseSources(raw: string): SourceConfig[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    // Not JSON.parse's message: it quotes the text around the fault, and the value may hold credentials.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new Error(`must be a JSON array of sources: it is not valid JSON${position === undefined ? '' : ` (at character ${position})`}.`);
  }
  if (!Array.isArray(parsed))
    throw new Error('must be a JSON array of sources, such as [{"name":"etcd-prod","type":"etcd","endpoints":["http://etcd:2379"]}].');
  const seen = new Set<string>();
  return parsed.map((entry: unknown, index) => {
    const at = `entry ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${at} must be an object with a name and a type.`);
    const { name, type, ...options } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new Error(`${at} needs a "name" of 1-63 letters, digits, ".", "_" or "-" (starting with a letter or digit), got ${JSON.stringify(name)}.`);
    }
    const named = `${at} ("${name}")`;
    if (seen.has(name)) throw new Error(`${named}: another source already has this name.`);
    seen.add(name);
    if (typeof type !== 'string' || !Object.hasOwn(SOURCE_PACKAGES, type)) {
      throw new Error(`${named} needs a "type" of ${Object.keys(SOURCE_PACKAGES).join(', ')}, got ${JSON.stringify(type)}.`);
    }
    return { name, type: type as SourceType, options };
  });
}
