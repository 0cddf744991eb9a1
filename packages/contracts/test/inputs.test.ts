import { describe, expect, it } from 'vitest';
import {
  checkSchema,
  componentSchema,
  parseComposeRequest,
  parseInput,
  serviceDefinitionSchema,
  SwitchboardError,
  validateEnvironment,
  validateKey,
  validateValue,
} from '../src/index.js';

/** Each issue as "path: message", as zod reports it. */
function issuesOf(schema: { safeParse(input: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, input: unknown) {
  const result = schema.safeParse(input);
  return (result.error?.issues ?? []).map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
}

describe('service definition schema', () => {
  it('accepts a full definition and normalises it', () => {
    const result = serviceDefinitionSchema.parse({
      name: 'payments',
      version: 'v1.4.2',
      address: '::ffff:10.0.0.1',
      port: 8080,
      tags: ['eu'],
      metadata: { zone: 'eu-1' },
      endpoints: [{ path: '/pay', method: 'post', description: 'Line one\nline two', parameters: [{ name: 'id', in: 'PATH' }] }],
      protocols: ['HTTP'],
      ttlMs: 30_000,
    });
    expect(result).toMatchObject({ version: '1.4.2', address: '10.0.0.1', metadata: { zone: 'eu-1' }, protocols: ['http'] });
    expect(result.endpoints![0]).toMatchObject({ method: 'POST', parameters: [{ in: 'path' }] });
  });

  it('reports every bad field by its path', () => {
    expect(
      issuesOf(serviceDefinitionSchema, {
        name: 'bad name',
        port: 0,
        tags: ['ok', 'a\u0007b'],
        metadata: { zone: 'a\u0000b' },
        endpoints: [{ path: 'pay', method: 'GET', description: 'tab\tok\u0001' }],
        address: 'not a host!',
        ttlMs: 10,
      }),
    ).toEqual([
      'name: must start and end with a letter or digit and contain only letters, digits, ".", "_" or "-"',
      'address: must be an IPv4 or IPv6 address or a host name',
      'port: must be from 1 to 65535',
      'tags.1: must not contain control characters',
      'metadata: value of "zone" must be valid Unicode text without NUL characters',
      'endpoints.0.path: must start with "/"',
      'endpoints.0.description: must not contain control characters',
      'ttlMs: must be at least 1s',
    ]);
  });

  it("parseInput turns issues into one BAD_USER_INPUT with the client's field names", () => {
    let thrown: unknown;
    try {
      parseInput(serviceDefinitionSchema, { name: 'ok', ttlMs: 10 }, 'service definition', { ttlMs: 'ttl' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SwitchboardError);
    expect(thrown).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Invalid service definition: ttl must be at least 1s.',
      details: { issues: [{ field: 'ttl', message: 'must be at least 1s' }] },
    });
  });
});

describe('health check schema', () => {
  it('accepts a check and rounds durations', () => {
    expect(checkSchema.parse({ http: 'http://10.0.0.1/health', intervalMs: 1500.4, headers: { 'X-Token': 'a' } })).toMatchObject({ intervalMs: 1500 });
  });

  it('reports bad fields by path', () => {
    expect(issuesOf(checkSchema, { name: '', headers: { 'bad header': 'x', ok: 'a\u0000' }, intervalMs: 10, args: ['\ud800'] })).toEqual([
      'name: must not be empty',
      // zod reports a bad record key by its own words.
      'headers.bad header: Invalid key in record',
      'headers.ok: must not contain control characters',
      'args.0: must be valid Unicode text',
      'intervalMs: must be at least 1s',
    ]);
  });
});

describe('component schema', () => {
  it('derives the id and parses dependencies', () => {
    expect(componentSchema.parse({ type: 'STEP', name: 'Custom API Step', version: '1.0.0', dependencies: ['http-client@^1.2'] })).toMatchObject({
      id: 'custom-api-step-1.0.0',
      dependencies: [{ name: 'http-client', range: '^1.2' }],
      metadata: {},
    });
  });

  it('reports bad fields by path', () => {
    expect(
      issuesOf(componentSchema, { type: 'GADGET', name: 'Step\u202e', version: 'one', description: 'x\u0000', dependencies: ['not a name'], metadata: [] }),
    ).toEqual([
      'type: must be one of STEP, TRANSFORMER, VALIDATOR, FLOW, MIDDLEWARE, PLUGIN',
      'name: must be printable text (no control, format or unassigned characters)',
      'version: "one" is not a semantic version such as 1.4.2',
      'description: must be valid Unicode text without NUL characters',
      'dependencies.0: "not a name" is not a component id or name, optionally with "@range" (e.g. "http-client@^1.2", "custom-api-step-v1")',
      'metadata: must be a JSON object',
    ]);
  });
});

describe('configuration inputs', () => {
  it('accepts dotted keys, environment names and JSON values', () => {
    expect(validateKey('api.timeout')).toBe('api.timeout');
    expect(validateEnvironment('eu-1.staging')).toBe('eu-1.staging');
    expect(validateValue({ a: [1, 'x'] })).toEqual({ a: [1, 'x'] });
  });

  it('refuses the rest with the field named', () => {
    expect(() => validateKey('api..timeout')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', details: { field: 'key' } }));
    expect(() => validateEnvironment('')).toThrow(expect.objectContaining({ details: { field: 'environment' } }));
    expect(() => validateValue({ 'a\u0000': 1 })).toThrow('The value contains a NUL character.');
  });
});

describe('messages quote what the caller sent, escaped', () => {
  // A message goes to a terminal (the CLI) and to logs: an escape sequence in the input must not reach them raw.
  const hostile = 'pay\u001b[31mments\u0007';
  it.each([
    ['a configuration key', () => validateKey(hostile)],
    ['a flow name', () => parseComposeRequest(hostile, null)],
    ['a component dependency', () => parseInput(componentSchema, { type: 'STEP', name: 'x', version: '1.0.0', dependencies: [hostile] }, 'component')],
  ])('%s', (_what, attempt) => {
    const message = (() => {
      try {
        attempt();
      } catch (error) {
        return (error as Error).message + JSON.stringify((error as { details?: unknown }).details ?? '');
      }
      throw new Error('accepted');
    })();
    expect(message).toContain('pay\\u001b[31mments\\u0007');
    expect([...message].filter((character) => character.charCodeAt(0) < 0x20)).toEqual([]);
  });
});
