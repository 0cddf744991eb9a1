import type { IncomingMessage, ServerResponse } from 'node:http';
import { toError } from '@switchboard/contracts';
import { runAs } from '../events/actor.js';
import type { EventFeed } from '../events/feed.js';
import type { Logger } from '../logger.js';
import { actorOf, hasScope, type Principal } from '../registry/access/index.js';
import type { Catalog } from '../registry/catalog/index.js';
import type { ConfigWriter } from '../registry/config/index.js';
import type { Db } from '../db/handle.js';
import type { HeartbeatWriter, RegistrationWriter } from '../registry/services/index.js';
import type { RegistrySettings } from '../registry/settings.js';
import { runWithinDeadline } from '../http/deadline.js';
import { parseBlocking, waitForIndex } from './blocking.js';
import { ConsulError, isServerFault, toConsulError } from './errors.js';
import { IndexTracker, type TopicsOf } from './indexes.js';
import { errorReply, send, toReply, type Reply } from './respond.js';
import { ConsulRequest, consulToken } from './request.js';
import { Router, type Answer, type Route } from './router.js';
import { readTarget, type RequestTarget } from './target.js';

export const CONSUL_PATH_PREFIX = '/v1/';

const NEVER_ABORTED = new AbortController().signal;

/** What the API reads and writes through: the domain's handles and this server's settings. */
export interface ConsulDeps {
  db: Db;
  feed: EventFeed;
  catalog: Catalog;
  registrations: RegistrationWriter;
  configWriter: ConfigWriter;
  heartbeats: HeartbeatWriter;
  settings: RegistrySettings;
  /** The token check every API shares (src/server/auth.ts). */
  authenticate: (credential: string | undefined) => Promise<Principal | undefined>;
  datacenter: string;
  /** This server's name: the agent's NodeName. */
  nodeName: string;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  log: Logger;
}

/** What route builders get: the dependencies and the index tracker. */
export interface ConsulContext extends ConsulDeps {
  indexes: IndexTracker;
}

export type RouteModule = (context: ConsulContext) => Route[];

/**
 * The Consul-compatible HTTP API under /v1/: routing, tokens and scopes, blocking
 * queries, Consul's headers and error style. Endpoints are routes (router.ts) that
 * translate a request into a domain call and its result into Consul's JSON; see
 * README.md in this directory.
 */
export class ConsulApi {
  private readonly router = new Router();
  private readonly context: ConsulContext;
  /** Identical reads woken by the same change share one computation and its bytes (a thousand watchers of one service, say). */
  private readonly inFlight = new Map<string, Promise<Reply>>();

  constructor(deps: ConsulDeps, modules: readonly RouteModule[], topics: readonly TopicsOf[]) {
    this.context = { ...deps, indexes: new IndexTracker(deps.feed, topics) };
    for (const module of modules) this.router.add(...module(this.context));
  }

  stop(): void {
    this.context.indexes.stop();
  }

  /** Answers one request whose path starts with /v1/. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { indexes, log } = this.context;
    // The client leaving ends its wait (and a read or write nobody waits for any more).
    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) gone.abort();
    };
    res.once('close', onClose);
    try {
      const reply = await this.reply(req, gone.signal);
      if (!res.destroyed) send(res, reply);
    } catch (error) {
      const answer = toConsulError(error);
      if (isServerFault(answer)) log.error({ err: toError(error) }, 'consul API request failed');
      else if (answer.status === 503) log.warn({ err: toError(error) }, 'consul API request: the database is unavailable');
      if (!res.destroyed && !res.headersSent) send(res, errorReply(answer, indexes.head));
    } finally {
      res.off('close', onClose);
    }
  }

  private async reply(req: IncomingMessage, gone: AbortSignal): Promise<Reply> {
    const { indexes, catalog, feed } = this.context;
    // The target as sent, not as `new URL()` would normalise it (see target.ts).
    const url = readTarget(req.url ?? '/');
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const match = this.router.match(method, url.pathname);
    if (!match) throw new ConsulError(404, `Unknown Consul API endpoint ${url.pathname.slice(0, 200)}; see docs/consul.md.`);
    if ('allowed' in match)
      throw new ConsulError(405, `Method ${method} not allowed on ${url.pathname.slice(0, 200)}; use ${match.allowed.join(' or ')}.`, {
        allow: match.allowed.join(', '),
      });
    const { route, params } = match;

    const principal = await this.principal(req, url.searchParams, gone);
    if (!hasScope(principal, route.scope)) {
      throw new ConsulError(403, `Permission denied: token "${principal.name}" lacks the ${route.scope} scope this endpoint needs.`);
    }
    const dc = url.searchParams.get('dc');
    if (dc !== null && dc !== '' && dc !== this.context.datacenter) {
      throw new ConsulError(400, `No path to datacenter "${dc.slice(0, 64)}": this registry serves "${this.context.datacenter}" only.`);
    }
    // Consul's filter expressions: ignoring one would answer with what the client meant to leave out.
    if (url.searchParams.has('filter')) throw new ConsulError(400, 'Filter expressions (?filter=) are not supported; use ?tag= and ?passing.');
    if (url.searchParams.has('node-meta')) throw new ConsulError(400, 'Node metadata filters (?node-meta=) are not supported: nodes here carry no metadata.');
    const request = new ConsulRequest(req, params, url.searchParams, principal, this.context.maxBodyBytes);

    if (method === 'GET' && route.index) {
      const routeIndex = route.index;
      const blocking = parseBlocking(url.searchParams);
      if (blocking) {
        const prepare = route.prepare;
        if (prepare) await runWithinDeadline(() => prepare(request), this.context.requestTimeoutMs, gone, false);
        await waitForIndex(feed, blocking, () => routeIndex(request), gone);
      }
      // Read before the answer is computed: an answer newer than its index costs a client one
      // extra round, an index newer than its answer would hide a change from it.
      const index = routeIndex(request);
      // The catalog applies the feed's events as they arrive; only while it reloads may it lag.
      await catalog.waitFor(Math.min(index, feed.head));
      // A shared read serves every request that joins it: the first one leaving must not cut it off.
      return this.shared(sharingKey(method, url, principal, index), async () => toReply(await this.run(route, request, NEVER_ABORTED, false), index));
    }
    const isWrite = method !== 'GET';
    const { value: answer, write } = await runAs(actorOf(principal), () => this.run(route, request, gone, isWrite));
    // Read-your-writes: a read right after this answer, on this server, sees the write.
    if (write.lastEventId > 0) await catalog.waitFor(write.lastEventId);
    return toReply(answer, Math.max(write.lastEventId, indexes.head));
  }

  private run(route: Route, request: ConsulRequest, gone: AbortSignal, isWrite: boolean): Promise<Answer> {
    return runWithinDeadline(async () => route.handle(request), this.context.requestTimeoutMs, gone, isWrite);
  }

  private async principal(req: IncomingMessage, query: URLSearchParams, gone: AbortSignal): Promise<Principal> {
    const token = consulToken(req, query);
    // A token is looked up in the database (then cached): within the request deadline, or 503.
    const principal = await runWithinDeadline(() => this.context.authenticate(token), this.context.requestTimeoutMs, gone, false);
    if (principal) return principal;
    if (token === undefined)
      throw new ConsulError(403, 'Permission denied: this registry requires a token (X-Consul-Token, ?token= or Authorization: Bearer).');
    throw new ConsulError(403, 'ACL not found');
  }

  private shared(key: string, compute: () => Promise<Reply>): Promise<Reply> {
    let answer = this.inFlight.get(key);
    if (!answer) {
      answer = compute().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, answer);
    }
    return answer;
  }
}

/** Requests that get the same answer: same endpoint and parameters, same caller, same index. */
function sharingKey(method: string, url: RequestTarget, principal: Principal, index: number): string {
  const params = [...url.searchParams]
    .filter(([name]) => name !== 'index' && name !== 'wait' && name !== 'token')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([method, url.pathname, params, principal.id, index]);
}
