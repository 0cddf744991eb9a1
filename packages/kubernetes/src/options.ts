import { KubeConfig } from '@kubernetes/client-node';
import { badInput } from '@switchboard/contracts';

export interface KubernetesRegistryOptions {
  /** The namespace whose Services are discovered. Default: the kubeconfig context's, in a cluster the service account's, else "default". */
  namespace?: string;
  /**
   * A kubeconfig file's path, or a KubeConfig already loaded. Absent: the pod's service account (the token,
   * CA and namespace under /var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST/PORT).
   */
  kubeconfig?: string | KubeConfig;
  /** The kubeconfig file's context to use; default its current-context. */
  context?: string;
  /** Selects the Services seen (an EndpointSlice carries its Service's labels): "team=payments,tier!=batch". */
  labelSelector?: string;
  /** Selects the Pods whose endpoints count: "status.phase=Running". Endpoints of other pods are left out. */
  fieldSelector?: string;
  /** The port of each EndpointSlice taken as the instance's port, by name; default the first listed. */
  portName?: string;
  /** Which EndpointSlices are read (a dual-stack Service has one of each); default IPv4. */
  addressType?: 'IPv4' | 'IPv6';
  /**
   * Read Pods for the instances' metadata, version, tags and weight (default true). False needs no access
   * to Pods: instances then carry what the EndpointSlice says, and `fieldSelector` does not apply.
   */
  pods?: boolean;
  /**
   * An instance's id: `qualified` (default) `<pod>.<service>.<namespace>`, unique when a pod backs several
   * Services or namespaces share pod names (what a SWITCHBOARD_SOURCES follower needs); `pod`: the pod's name.
   */
  instanceIds?: 'qualified' | 'pod';
  /** The ConfigMap `getConfig`/`watchConfig` read (read-only). Absent: configuration is not supported. */
  configMap?: string;
  /** A request the API server does not answer within this fails UNAVAILABLE (default 5 s). */
  dialTimeoutMs?: number;
  /** A list whose body is not all read within this fails UNAVAILABLE (default 30 s). */
  readTimeoutMs?: number;
  /** Watches ask the server to end them after this long, then resume (default 300 s, as kubectl's ±). */
  watchTimeoutSeconds?: number;
  /** After a watch fails, the first wait before it is tried again (default 500 ms), doubled up to `retryMaxMs` (default 30 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** In a cluster: a directory the service account path is read under (for tests; loadFromCluster's pathPrefix). */
  serviceAccountPathPrefix?: string;
  /** An object skipped as malformed, or a value ignored (default: console.warn). Said once per object version. */
  onWarning?: (message: string) => void;
}

export interface Connection {
  kubeConfig: KubeConfig;
  namespace: string;
  server: string;
}

/** The KubeConfig the options name, and the namespace to read. Fails BAD_USER_INPUT when neither gives a cluster. */
export function connectionOf(options: KubernetesRegistryOptions): Connection {
  checkOptions(options);
  const kubeConfig = loadKubeConfig(options);
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster?.server) throw badInput('kubernetes: the kubeconfig names no cluster for its current context.');
  // client-node refuses plain http unless the cluster says to skip TLS verification (kubectl proxy's case).
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw badInput(`kubernetes ${cluster.server}: a plain http server needs "insecure-skip-tls-verify: true" on its cluster in the kubeconfig.`);
  }
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace?.trim();
  return { kubeConfig, namespace: options.namespace ?? (contextNamespace || 'default'), server: cluster.server };
}

function loadKubeConfig(options: KubernetesRegistryOptions): KubeConfig {
  if (options.kubeconfig instanceof KubeConfig) return options.kubeconfig;
  const kubeConfig = new KubeConfig();
  if (typeof options.kubeconfig === 'string') {
    try {
      kubeConfig.loadFromFile(options.kubeconfig);
    } catch (error) {
      throw badInput(`kubernetes: the kubeconfig file could not be read (${error instanceof Error ? error.message : String(error)}).`);
    }
    if (options.context) {
      if (!kubeConfig.getContextObject(options.context)) throw badInput(`kubernetes: the kubeconfig has no context "${options.context}".`);
      kubeConfig.setCurrentContext(options.context);
    }
    return kubeConfig;
  }
  if (!process.env['KUBERNETES_SERVICE_HOST'] || !process.env['KUBERNETES_SERVICE_PORT']) {
    throw badInput('kubernetes: no kubeconfig given and not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset).');
  }
  kubeConfig.loadFromCluster(options.serviceAccountPathPrefix);
  return kubeConfig;
}

const DURATIONS = ['dialTimeoutMs', 'readTimeoutMs', 'watchTimeoutSeconds', 'retryMinMs', 'retryMaxMs'] as const;

/** What a constructor can check before anything is sent (SWITCHBOARD_SOURCES hands it JSON). */
function checkOptions(options: KubernetesRegistryOptions): void {
  for (const name of DURATIONS) {
    const value = options[name];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 2_147_483_647)) {
      throw badInput(`kubernetes: ${name} must be a positive number, got ${JSON.stringify(value)}.`);
    }
  }
  const choices = { addressType: ['IPv4', 'IPv6'], instanceIds: ['qualified', 'pod'] } as const;
  for (const [name, allowed] of Object.entries(choices)) {
    const value = options[name as keyof typeof choices];
    if (value !== undefined && !(allowed as readonly string[]).includes(value)) {
      throw badInput(`kubernetes: ${name} must be ${allowed.join(' or ')}, got ${JSON.stringify(value)}.`);
    }
  }
  for (const name of ['namespace', 'labelSelector', 'fieldSelector', 'portName', 'configMap', 'context'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'string') throw badInput(`kubernetes: ${name} must be a string, got ${JSON.stringify(value)}.`);
  }
}
