import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fieldSelector, labelSelector, SelectorError, type KubeObject, type Matcher } from './selectors.js';

/**
 * A Kubernetes API server reduced to what the Kubernetes backend and its tests use: discovery documents
 * (/api, /apis, the resource lists kubectl reads), /version, and get, list and watch of EndpointSlices,
 * Pods and ConfigMaps in a namespace, with label and field selectors, resourceVersion, `watch=1` streams of
 * JSON lines (ADDED, MODIFIED, DELETED, BOOKMARK, and ERROR with a 410 Status once history is compacted),
 * allowWatchBookmarks, timeoutSeconds, limit/continue, and bearer tokens. Tests change objects with
 * `apply`/`remove`, and make the faults a real cluster has: `compact`, `dropWatches`, `holdWatches`.
 *
 * kubectl and client-node's own informer are run against it (test/stand-in.test.ts), so it cannot drift
 * into answers no real server would give. Like the real server, one resourceVersion counter spans every
 * resource (etcd's revision), list items carry no kind/apiVersion while watch objects do, and a watch
 * from a compacted resourceVersion is answered 200 with an ERROR event (410 Expired), then closed.
 */

interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  /** The field selectors the real server accepts for it. */
  fields: string[];
}

const RESOURCES: readonly ResourceType[] = [
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    singular: 'endpointslice',
    shortNames: [],
    fields: ['metadata.name', 'metadata.namespace', 'addressType'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    shortNames: ['po'],
    fields: [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    shortNames: ['cm'],
    fields: ['metadata.name', 'metadata.namespace'],
  },
];

export type ResourceName = 'endpointslices' | 'pods' | 'configmaps';

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Change {
  revision: number;
  resource: ResourceType;
  type: EventType;
  object: KubeObject;
  /** The object before a MODIFIED: a change that moves it into or out of a watch's selector is ADDED or DELETED there. */
  previous: KubeObject | undefined;
}

interface Watch {
  resource: ResourceType;
  namespace: string | undefined;
  matches: Matcher;
  bookmarks: boolean;
  response: ServerResponse;
}

export interface RecordedRequest {
  path: string;
  query: URLSearchParams;
  watch: boolean;
  authorization: string | undefined;
}

export interface StandInOptions {
  /** Bearer tokens the server accepts; `forbidden` ones authenticate but may read no resource. None: no authentication. */
  tokens?: Record<string, 'allowed' | 'forbidden'>;
  /** Serve https with this certificate (PEM), as in-cluster clients need. */
  tls?: { key: string; cert: string };
}

export class ApiStandIn {
  /** Every request answered, in order: what tests read to see a list, a re-watch and its resourceVersion. */
  readonly requests: RecordedRequest[] = [];
  private revision = 1;
  /** Watches from a resourceVersion below this are told 410 Gone. */
  private compactedAt = 0;
  private history: Change[] = [];
  private readonly objects = new Map<string, Map<string, KubeObject>>(RESOURCES.map((resource) => [resource.plural, new Map()]));
  private readonly watches = new Set<Watch>();
  private held: (() => void)[] | undefined;
  private tokens: StandInOptions['tokens'];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    options: StandInOptions,
  ) {
    this.tokens = options.tokens;
  }

  static async start(options: StandInOptions = {}): Promise<ApiStandIn> {
    let standIn: ApiStandIn | undefined;
    const handler = (request: IncomingMessage, response: ServerResponse) => standIn!.handle(request, response);
    const server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    standIn = new ApiStandIn(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`, options);
    return standIn;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** The resourceVersion of the newest change. */
  get resourceVersion(): string {
    return String(this.revision);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Creates or replaces an object (as given: a malformed one is served as it is), stamping its metadata. */
  apply(plural: ResourceName, object: KubeObject): KubeObject {
    const resource = resourceNamed(plural);
    const store = this.objects.get(plural)!;
    const key = keyOf(object);
    const previous = store.get(key);
    const stored = structuredClone(object);
    stored.metadata = {
      ...stored.metadata,
      namespace: stored.metadata.namespace ?? 'default',
      uid: previous?.metadata['uid'] ?? randomUUID(),
      creationTimestamp: previous?.metadata['creationTimestamp'] ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      resourceVersion: String(++this.revision),
    };
    store.set(key, stored);
    this.record({ revision: this.revision, resource, type: previous ? 'MODIFIED' : 'ADDED', object: stored, previous });
    return stored;
  }

  remove(plural: ResourceName, namespace: string, name: string): void {
    const store = this.objects.get(plural)!;
    const existing = store.get(`${namespace}/${name}`);
    if (!existing) throw new Error(`no ${plural} ${namespace}/${name}`);
    store.delete(`${namespace}/${name}`);
    const deleted = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(++this.revision) } };
    this.record({ revision: this.revision, resource: resourceNamed(plural), type: 'DELETED', object: deleted, previous: existing });
  }

  get(plural: ResourceName, namespace: string, name: string): KubeObject | undefined {
    return structuredClone(this.objects.get(plural)!.get(`${namespace}/${name}`));
  }

  /** Forgets history up to now: a watch from an older resourceVersion is answered 410 Gone. */
  compact(): void {
    this.compactedAt = this.revision;
    this.history = [];
  }

  /** Sends every watch that allowed them a BOOKMARK at the newest resourceVersion. */
  bookmark(): void {
    for (const watch of this.watches) {
      if (watch.bookmarks) send(watch.response, { type: 'BOOKMARK', object: bookmarkOf(watch.resource, this.revision) });
    }
  }

  /**
   * Ends every watch cleanly, as the server does when a watch's timeoutSeconds is up: a watch that allowed
   * bookmarks first gets one at the newest resourceVersion (so its client resumes from there).
   */
  endWatches(): void {
    this.bookmark();
    for (const watch of this.watches) watch.response.end();
    this.watches.clear();
  }

  /** Cuts every watch connection, as a restarting API server or a load balancer's idle timeout does. */
  dropWatches(): void {
    for (const watch of this.watches) watch.response.socket?.destroy();
    this.watches.clear();
  }

  /** Holds new watch requests unanswered (lists and others are still answered) until `releaseWatches`. */
  holdWatches(): void {
    this.held ??= [];
  }

  releaseWatches(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const answer of held) answer();
  }

  /** Watch requests held by `holdWatches`, not yet answered. */
  get heldWatches(): number {
    return this.held?.length ?? 0;
  }

  setTokens(tokens: StandInOptions['tokens']): void {
    this.tokens = tokens;
  }

  async close(): Promise<void> {
    this.held = undefined;
    this.dropWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private record(change: Change): void {
    this.history.push(change);
    for (const watch of this.watches) deliver(watch, change);
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const watching = url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true';
    this.requests.push({ path: url.pathname, query: url.searchParams, watch: watching, authorization: request.headers.authorization });
    if (watching && this.held) {
      // A client that gave up meanwhile (its dial timeout) is not answered.
      this.held.push(() => void (request.socket.destroyed || this.route(request, response, url, watching)));
      return;
    }
    this.route(request, response, url, watching);
  }

  private route(request: IncomingMessage, response: ServerResponse, url: URL, watching: boolean): void {
    const access = this.access(request);
    if (access === 'unauthenticated') return status(response, 401, 'Unauthorized', 'Unauthorized');
    if (request.method !== 'GET') return status(response, 405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);

    const parts = url.pathname.split('/').filter(Boolean);
    const document = this.discovery(parts);
    if (document) return json(response, 200, document);

    const target = resourcePath(parts);
    if (!target) return status(response, 404, 'NotFound', 'the server could not find the requested resource');
    const { resource, namespace, name } = target;
    if (access === 'forbidden') {
      const verb = name ? 'get' : watching ? 'watch' : 'list';
      return status(
        response,
        403,
        'Forbidden',
        `${resource.plural} is forbidden: User "stand-in" cannot ${verb} resource "${resource.plural}" in API group "${resource.group}" in the namespace "${namespace}"`,
      );
    }
    if (name !== undefined) {
      const object = this.objects.get(resource.plural)!.get(`${namespace}/${name}`);
      if (!object) return status(response, 404, 'NotFound', `${resource.plural} "${name}" not found`);
      return json(response, 200, withType(resource, object));
    }
    let matches: Matcher;
    try {
      const byLabel = labelSelector(url.searchParams.get('labelSelector'));
      const byField = fieldSelector(url.searchParams.get('fieldSelector'), resource.fields);
      matches = (object) => (namespace === undefined || object.metadata.namespace === namespace) && byLabel(object) && byField(object);
    } catch (error) {
      if (error instanceof SelectorError) return status(response, 400, 'BadRequest', error.message);
      throw error;
    }
    if (watching) return this.watch(response, resource, namespace, matches, url.searchParams);
    this.list(response, resource, matches, url.searchParams);
  }

  private access(request: IncomingMessage): 'allowed' | 'forbidden' | 'unauthenticated' {
    if (!this.tokens) return 'allowed';
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    return (token !== undefined && this.tokens[token]) || 'unauthenticated';
  }

  private discovery(parts: string[]): object | undefined {
    const path = parts.join('/');
    if (path === 'version') {
      return {
        major: '1',
        minor: '32',
        gitVersion: 'v1.32.0-stand-in',
        gitCommit: '0',
        gitTreeState: 'clean',
        goVersion: 'go1.23.0',
        compiler: 'gc',
        platform: 'linux/amd64',
      };
    }
    if (path === 'api')
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: new URL(this.url).host }] };
    const groups = [...new Set(RESOURCES.filter((resource) => resource.group !== '').map((resource) => resource.group))];
    const groupOf = (name: string) => {
      const version = { groupVersion: `${name}/v1`, version: 'v1' };
      return { name, versions: [version], preferredVersion: version };
    };
    if (path === 'apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupOf) };
    if (parts[0] === 'apis' && parts.length === 2 && groups.includes(parts[1]!)) return { kind: 'APIGroup', apiVersion: 'v1', ...groupOf(parts[1]!) };
    const groupVersion = path === 'api/v1' ? 'v1' : parts[0] === 'apis' && parts.length === 3 ? `${parts[1]}/${parts[2]}` : undefined;
    const served = RESOURCES.filter((resource) => apiVersionOf(resource) === groupVersion);
    if (!served.length) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion,
      resources: served.map((resource) => ({
        name: resource.plural,
        singularName: resource.singular,
        namespaced: true,
        kind: resource.kind,
        verbs: ['get', 'list', 'watch'],
        shortNames: resource.shortNames,
      })),
    };
  }

  private list(response: ServerResponse, resource: ResourceType, matches: Matcher, query: URLSearchParams): void {
    const all = [...this.objects.get(resource.plural)!.values()].filter(matches).sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const offset = Number(query.get('continue') ?? 0);
    const limit = Number(query.get('limit') ?? 0) || all.length;
    const items = all.slice(offset, offset + limit);
    const more = offset + items.length < all.length;
    json(response, 200, {
      kind: `${resource.kind}List`,
      apiVersion: apiVersionOf(resource),
      metadata: {
        resourceVersion: String(this.revision),
        ...(more ? { continue: String(offset + items.length), remainingItemCount: all.length - offset - items.length } : {}),
      },
      items,
    });
  }

  private watch(response: ServerResponse, resource: ResourceType, namespace: string | undefined, matches: Matcher, query: URLSearchParams): void {
    const from = query.get('resourceVersion') ?? '';
    if (from !== '' && !/^\d+$/.test(from)) return status(response, 400, 'BadRequest', `invalid resource version: ${from}`);
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    response.flushHeaders();
    if (from !== '' && from !== '0' && Number(from) < this.compactedAt) {
      send(response, {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${from} (${this.compactedAt})`,
          reason: 'Expired',
          code: 410,
        },
      });
      response.end();
      return;
    }
    const watch: Watch = { resource, namespace, matches, bookmarks: query.get('allowWatchBookmarks') === 'true', response };
    if (from === '' || from === '0') {
      // No resourceVersion (or "any"): the current state as synthetic ADDED events, then the changes.
      for (const object of this.objects.get(resource.plural)!.values())
        if (matches(object)) send(response, { type: 'ADDED', object: withType(resource, object) });
    } else {
      for (const change of this.history) if (change.revision > Number(from)) deliver(watch, change);
    }
    this.watches.add(watch);
    const timeout = Number(query.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => response.end(), timeout * 1000) : undefined;
    response.on('close', () => {
      clearTimeout(timer);
      this.watches.delete(watch);
    });
  }
}

function deliver(watch: Watch, change: Change): void {
  if (change.resource !== watch.resource) return;
  const now = watch.matches(change.object);
  const before = change.previous !== undefined && watch.matches(change.previous);
  let type: EventType | undefined;
  if (change.type === 'DELETED') type = before ? 'DELETED' : undefined;
  else if (change.type === 'ADDED') type = now ? 'ADDED' : undefined;
  else type = now ? (before ? 'MODIFIED' : 'ADDED') : before ? 'DELETED' : undefined;
  if (type) send(watch.response, { type, object: withType(watch.resource, change.object) });
}

function send(response: ServerResponse, event: object): void {
  if (!response.writableEnded && !response.destroyed) response.write(`${JSON.stringify(event)}\n`);
}

function bookmarkOf(resource: ResourceType, revision: number): object {
  return { kind: resource.kind, apiVersion: apiVersionOf(resource), metadata: { resourceVersion: String(revision), creationTimestamp: null } };
}

function withType(resource: ResourceType, object: KubeObject): object {
  return { kind: resource.kind, apiVersion: apiVersionOf(resource), ...object };
}

function apiVersionOf(resource: ResourceType): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

function resourceNamed(plural: string): ResourceType {
  const resource = RESOURCES.find((candidate) => candidate.plural === plural);
  if (!resource) throw new Error(`the stand-in serves no ${plural}`);
  return resource;
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;
}

/** `/api/v1/namespaces/{ns}/{plural}[/{name}]`, `/apis/{group}/{version}/namespaces/…`, or a cluster-wide `/api/v1/{plural}`. */
function resourcePath(parts: string[]): { resource: ResourceType; namespace: string | undefined; name: string | undefined } | undefined {
  const groupVersion =
    parts[0] === 'api' ? { group: '', version: parts[1], rest: parts.slice(2) } : { group: parts[1], version: parts[2], rest: parts.slice(3) };
  if (parts[0] !== 'api' && parts[0] !== 'apis') return undefined;
  let { rest } = groupVersion;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 2 || (namespace === undefined && rest.length === 2)) return undefined;
  const resource = RESOURCES.find(
    (candidate) => candidate.group === groupVersion.group && candidate.version === groupVersion.version && candidate.plural === rest[0],
  );
  return resource && { resource, namespace, name: rest[1] };
}

function json(response: ServerResponse, code: number, body: object): void {
  response.writeHead(code, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function status(response: ServerResponse, code: number, reason: string, message: string): void {
  json(response, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
