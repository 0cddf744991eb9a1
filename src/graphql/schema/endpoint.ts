import type { Endpoint } from '../../registry/services/index.js';
import { builder } from '../builder.js';

type EndpointParameter = Endpoint['parameters'][number];
type EndpointResponse = Endpoint['responses'][number];

const ParameterLocationEnum = builder.enumType('ParameterLocation', {
  values: {
    PATH: { value: 'path' },
    QUERY: { value: 'query' },
    HEADER: { value: 'header' },
    COOKIE: { value: 'cookie' },
    BODY: { value: 'body' },
  } as const,
});

const EndpointParameterRef = builder.objectRef<EndpointParameter>('EndpointParameter').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    in: t.expose('in', { type: ParameterLocationEnum }),
    type: t.exposeString('type'),
    required: t.exposeBoolean('required'),
    description: t.exposeString('description', { nullable: true }),
  }),
});

const EndpointResponseRef = builder.objectRef<EndpointResponse>('EndpointResponse').implement({
  fields: (t) => ({
    status: t.exposeInt('status'),
    description: t.exposeString('description', { nullable: true }),
    schema: t.expose('schema', { type: 'JSON', nullable: true }),
  }),
});

export const EndpointRef = builder.objectRef<Endpoint>('Endpoint').implement({
  fields: (t) => ({
    path: t.exposeString('path'),
    method: t.exposeString('method'),
    description: t.exposeString('description', { nullable: true }),
    parameters: t.expose('parameters', { type: [EndpointParameterRef] }),
    responses: t.expose('responses', { type: [EndpointResponseRef] }),
  }),
});

const EndpointParameterInput = builder.inputType('EndpointParameterInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    in: t.field({ type: ParameterLocationEnum, required: true }),
    type: t.string({ description: 'Defaults to "string".' }),
    required: t.boolean({ description: 'Defaults to false.' }),
    description: t.string(),
  }),
});

const EndpointResponseInput = builder.inputType('EndpointResponseInput', {
  fields: (t) => ({
    status: t.int({ required: true }),
    description: t.string(),
    schema: t.field({ type: 'JSON' }),
  }),
});

export const EndpointInput = builder.inputType('EndpointInput', {
  fields: (t) => ({
    path: t.string({ required: true }),
    method: t.string({ required: true }),
    description: t.string(),
    parameters: t.field({ type: [EndpointParameterInput] }),
    responses: t.field({ type: [EndpointResponseInput] }),
  }),
});
