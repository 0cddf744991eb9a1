import { badInput } from '@switchboard/contracts';
import { MAX_REGISTRATIONS_PER_CALL, registerServices, unregisterService } from '../../registry/services/index.js';
import type { GraphQLContext } from '../context.js';
import { builder } from '../builder.js';
import { EndpointInput } from './endpoint.js';
import { HealthCheckInput, toCheckInput } from './health-inputs.js';
import { ServiceInstanceRef } from './service.js';

const ServiceDefinitionInput = builder.inputType('ServiceDefinitionInput', {
  fields: (t) => ({
    id: t.id({ description: 'Stable instance id; registering it again updates the instance. Defaults to the name.' }),
    name: t.string({ required: true }),
    version: t.string({ description: 'Semantic version, e.g. "1.4.2". Optional: an instance without one matches no version range.' }),
    address: t.string({
      description:
        "Host name or IP address. Defaults to the caller's address as this server's socket sees it (behind a proxy: the proxy's; X-Forwarded-For is not trusted).",
    }),
    port: t.int({ description: 'Optional: an instance without a port is still discovered and selected; its caller decides the port.' }),
    tags: t.stringList(),
    metadata: t.field({ type: 'JSON', description: 'String-to-string map, at most 64 pairs.' }),
    endpoints: t.field({ type: [EndpointInput] }),
    protocols: t.stringList(),
    weight: t.int({ description: 'Defaults to 1.' }),
    priority: t.int({ description: 'Defaults to 0; lower is preferred.' }),
    ttl: t.field({ type: 'Duration', description: 'Lease: without a heartbeat within it, the instance expires and is removed.' }),
    healthCheck: t.field({ type: HealthCheckInput, description: 'A health check to add (or update) with the instance.' }),
    healthChecks: t.field({ type: [HealthCheckInput], description: 'Several health checks to add (or update) with the instance.' }),
    replaceExistingChecks: t.boolean({
      description:
        "Remove the instance's checks that this registration does not define (as Consul's replace-existing-checks). Default false: checks registered before stay beside the new ones.",
    }),
  }),
});

builder.mutationFields((t) => ({
  registerService: t.field({
    type: ServiceInstanceRef,
    args: {
      input: t.arg({ type: ServiceDefinitionInput, required: true }),
      ephemeral: t.arg.boolean({
        description:
          'Bind the instance to this WebSocket connection instead of heartbeats: it stays while the client is connected (the server renews it) and is removed once the connection has been gone for the grace period (SWITCHBOARD_EPHEMERAL_GRACE), unless the client reconnects, to any server, with the same connectionParams.sessionId. Only over WebSocket with a sessionId; not with `ttl`.',
      }),
    },
    resolve: async (_root, { input, ephemeral }, context) =>
      context.registrations.register(definitionOf(input, context), context.principal, sessionOf(ephemeral, context)),
  }),
  registerServices: t.field({
    type: [ServiceInstanceRef],
    description: `Registers several instances in one transaction, all or nothing, each as registerService would (its own event, in input order); answers them in input order. The first refused input refuses the call, naming it ("inputs[3].port: …"), and nothing is written. At most ${MAX_REGISTRATIONS_PER_CALL} inputs, each id once.`,
    args: {
      inputs: t.arg({ type: [ServiceDefinitionInput], required: true }),
      ephemeral: t.arg.boolean({ description: "As registerService's: every instance of the call is bound to this WebSocket connection." }),
    },
    resolve: async (_root, { inputs, ephemeral }, context) =>
      registerServices(
        context.db,
        inputs.map((input) => definitionOf(input, context)),
        context.settings.health.policy,
        context.principal,
        sessionOf(ephemeral, context),
      ),
  }),
  unregisterService: t.boolean({
    description: 'Removes an instance; NOT_FOUND when the id is unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      await unregisterService(context.db, args.id, context.principal);
      return true;
    },
  }),
  heartbeat: t.field({
    type: ServiceInstanceRef,
    description: "Renews the instance's TTL lease.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      return context.heartbeats.renew(args.id, context.principal);
    },
  }),
}));

/** A ServiceDefinitionInput as the domain takes it: its checks in one list, the caller's address for a default. */
function definitionOf(input: typeof ServiceDefinitionInput.$inferInput, context: GraphQLContext) {
  const healthChecks = [...(input.healthCheck ? [input.healthCheck] : []), ...(input.healthChecks ?? [])].map(toCheckInput);
  return { ...input, ttlMs: input.ttl, healthChecks, callerAddress: context.callerAddress };
}

/** The session an `ephemeral: true` registration binds to; refused where there is none. */
function sessionOf(ephemeral: boolean | null | undefined, context: GraphQLContext) {
  if (!ephemeral) return undefined;
  if (!context.session) {
    throw badInput('ephemeral: true binds the instance to a WebSocket connection: register over WebSocket with connectionParams.sessionId.', {
      field: 'ephemeral',
    });
  }
  return context.session;
}
