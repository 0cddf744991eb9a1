import { deregisterHealthCheck, setMaintenance, updateTtlCheck, registerHealthCheck, type TtlUpdate } from '../../registry/health/index.js';
import type { Principal } from '../../registry/access/index.js';
import { unregisterService } from '../../registry/services/index.js';
import type { ConsulContext, RouteModule } from '../api.js';
import { ConsulError } from '../errors.js';
import { JsonFields } from '../json.js';
import { agentService, checksOf } from '../model.js';
import { toServiceDefinition, toStandaloneCheck } from '../registration.js';
import type { ConsulRequest } from '../request.js';
import type { Answer, Method, Route } from '../router.js';
import { checksByInstance } from './checks.js';

/** What Consul answers a successful write with: 200 and an empty body. */
const DONE: Answer = { text: '' };

/**
 * /v1/agent: what clients use to register themselves. Switchboard has no per-host agents:
 * the registry is every client's agent, so agent/services and agent/checks list everything.
 */
export const agentRoutes: RouteModule = (context) => {
  const { catalog, indexes, registrations, db, settings } = context;
  return [
    { method: 'GET', pattern: '/v1/agent/self', scope: 'READ', handle: () => ({ body: agentSelf(context) }) },
    {
      method: 'PUT',
      pattern: '/v1/agent/service/register',
      scope: 'WRITE',
      handle: async (request) => {
        const body = JsonFields.of(await request.json(), 'service');
        const definition = toServiceDefinition(body, request.flag('replace-existing-checks'), request.callerAddress);
        await registrations.register(definition, request.principal);
        return DONE;
      },
    },
    // Debian's python-consul (1.1) still sends these writes as GET, as Consul before 1.0 took them.
    ...methods(['PUT', 'GET'], '/v1/agent/service/deregister/:id', async (request) => {
      await unregisterService(db, request.param('id'), request.principal);
      return DONE;
    }),
    {
      method: 'GET',
      pattern: '/v1/agent/services',
      scope: 'READ',
      index: () => indexes.of('services'),
      handle: () => {
        const services: Record<string, ReturnType<typeof agentService>> = {};
        for (const { instance } of catalog.all()) services[instance.id] = agentService(instance, context);
        return { body: services };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/service/:id',
      scope: 'READ',
      index: (request) => indexes.of(`instance:${request.param('id')}`),
      handle: (request) => {
        const entry = catalog.get(request.param('id'));
        if (!entry) throw new ConsulError(404, `unknown service ID: ${request.param('id')}`);
        return { body: agentService(entry.instance, context) };
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/service/maintenance/:id',
      scope: 'WRITE',
      handle: async (request) => {
        const enable = request.string('enable');
        if (enable === undefined) throw new ConsulError(400, 'Missing value for enable');
        if (enable !== 'true' && enable !== 'false') throw new ConsulError(400, `Invalid value for enable: "${enable.slice(0, 40)}"`);
        await setMaintenance(db, request.param('id'), { enabled: enable === 'true', reason: request.string('reason') || null }, request.principal);
        return DONE;
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/agent/check/register',
      scope: 'WRITE',
      handle: async (request) => {
        const { serviceId, check } = toStandaloneCheck(JsonFields.of(await request.json(), 'check'));
        await registerHealthCheck(db, serviceId, check, settings.health.policy, request.principal);
        return DONE;
      },
    },
    ...methods(['PUT', 'GET'], '/v1/agent/check/deregister/:id', async (request) => {
      await deregisterHealthCheck(db, request.param('id'), request.principal);
      return DONE;
    }),
    ...ttlRoute(context, 'pass', 'PASSING'),
    ...ttlRoute(context, 'warn', 'WARNING'),
    ...ttlRoute(context, 'fail', 'CRITICAL'),
    {
      method: 'PUT',
      pattern: '/v1/agent/check/update/:id',
      scope: 'WRITE',
      handle: async (request) => {
        const body = JsonFields.of((await request.json()) ?? {}, 'update');
        const status = body.string('Status');
        const statuses: Record<string, TtlUpdate['status']> = { passing: 'PASSING', warning: 'WARNING', critical: 'CRITICAL' };
        const mapped = status === undefined ? undefined : statuses[status];
        if (mapped === undefined) throw new ConsulError(400, `Invalid check status: "${String(status).slice(0, 40)}" (use passing, warning or critical)`);
        await updateTtl(context, request.param('id'), { status: mapped, output: body.string('Output') }, request.principal);
        return DONE;
      },
    },
    {
      method: 'GET',
      pattern: '/v1/agent/checks',
      scope: 'READ',
      index: () => indexes.of('services'),
      handle: async () => {
        const instances = [...catalog.all()].map((entry) => entry.instance);
        const checks = await checksByInstance(db, instances);
        const answer: Record<string, unknown> = {};
        for (const instance of instances) for (const check of checksOf(instance, checks.get(instance.id) ?? [], context)) answer[check.CheckID] = check;
        return { body: answer };
      },
    },
  ];
};

/** agent/check/{pass,warn,fail}/:id?note=: a TTL check's status, the note as its output. */
function ttlRoute(context: ConsulContext, verb: string, status: TtlUpdate['status']): Route[] {
  return methods(['PUT', 'GET'], `/v1/agent/check/${verb}/:id`, async (request) => {
    await updateTtl(context, request.param('id'), { status, output: request.string('note') }, request.principal);
    return DONE;
  });
}

/** A TTL check update; a pass is a heartbeat, group-committed with the others (most renew what already passes). */
async function updateTtl({ db, heartbeats }: ConsulContext, checkId: string, update: TtlUpdate, principal: Principal): Promise<void> {
  if (update.status === 'PASSING') await heartbeats.passCheck(checkId, update.output, principal);
  else await updateTtlCheck(db, checkId, update, principal);
}

/** One write handler under several methods. */
function methods(list: readonly Method[], pattern: string, handle: (request: ConsulRequest) => Promise<Answer>): Route[] {
  return list.map((method) => ({ method, pattern, scope: 'WRITE', handle }));
}

/** What agent/self tells a client: the datacenter and this server's name, which clients read. */
function agentSelf({ datacenter, nodeName }: ConsulContext) {
  return {
    Config: { Datacenter: datacenter, NodeName: nodeName, NodeID: '', Server: true, Revision: '', Version: CONSUL_API_VERSION },
    Member: { Name: nodeName, Addr: '', Port: 0, Tags: { dc: datacenter, role: 'consul' }, Status: 1 },
    Meta: {},
    Stats: {},
  };
}

/** The Consul version whose HTTP API this follows, for clients that check it. */
export const CONSUL_API_VERSION = '1.15.0';
