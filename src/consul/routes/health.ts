import type { RouteModule } from '../api.js';
import { ConsulError } from '../errors.js';
import { agentService, checksOf, consulNode, nodeOf, type ConsulCheck, type ConsulStatus } from '../model.js';
import { withTags } from './catalog.js';
import { checksByInstance } from './checks.js';

const STATES: ReadonlySet<string> = new Set<ConsulStatus | 'any'>(['any', 'passing', 'warning', 'critical']);

/**
 * /v1/health: instances with their checks. Instances come from the in-memory catalog, their
 * checks from one query per answer (not while a blocking query waits). Health semantics are
 * Switchboard's: a new check is critical until it passes, maintenance adds a critical check.
 */
export const healthRoutes: RouteModule = (context) => {
  const { catalog, indexes, db } = context;
  return [
    {
      method: 'GET',
      pattern: '/v1/health/service/:name',
      scope: 'READ',
      index: (request) => indexes.of(`service:${request.param('name')}`),
      handle: async (request) => {
        const passingOnly = request.flag('passing');
        const instances = withTags(catalog.byService(request.param('name')), request);
        const checks = await checksByInstance(db, instances);
        const entries = instances.map((instance) => ({
          Node: consulNode(nodeOf(instance), context),
          Service: agentService(instance, context),
          Checks: checksOf(instance, checks.get(instance.id) ?? [], context),
        }));
        // ?passing: an entry goes if any of its checks is not passing (warning included, as in Consul).
        return { body: passingOnly ? entries.filter((entry) => entry.Checks.every((check) => check.Status === 'passing')) : entries };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/checks/:service',
      scope: 'READ',
      index: (request) => indexes.of(`service:${request.param('service')}`),
      handle: async (request) => {
        const instances = catalog.byService(request.param('service')).map((entry) => entry.instance);
        const checks = await checksByInstance(db, instances);
        return { body: instances.flatMap((instance) => checksOf(instance, checks.get(instance.id) ?? [], context)) };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/node/:node',
      scope: 'READ',
      index: (request) => indexes.of(`node:${request.param('node')}`),
      handle: async (request) => {
        const node = request.param('node');
        const instances = [...catalog.all()].map((entry) => entry.instance).filter((instance) => nodeOf(instance) === node);
        const checks = await checksByInstance(db, instances);
        return { body: instances.flatMap((instance) => checksOf(instance, checks.get(instance.id) ?? [], context)) };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/state/:state',
      scope: 'READ',
      index: () => indexes.of('services'),
      handle: async (request) => {
        const state = request.param('state');
        if (!STATES.has(state)) throw new ConsulError(400, `Invalid state "${state.slice(0, 40)}": use any, passing, warning or critical.`);
        const instances = [...catalog.all()].map((entry) => entry.instance);
        const checks = await checksByInstance(db, instances);
        const all: ConsulCheck[] = instances.flatMap((instance) => checksOf(instance, checks.get(instance.id) ?? [], context));
        return { body: state === 'any' ? all : all.filter((check) => check.Status === state) };
      },
    },
  ];
};
