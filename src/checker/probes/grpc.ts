import { credentials, makeGenericClientConstructor, status as GrpcStatus, type Client, type ServiceError } from '@grpc/grpc-js';
import type { CheckTarget } from '@switchboard/contracts';
import { isIP } from 'node:net';
import { hostPort } from '../../net.js';
import { splitHostPort } from '../../registry/health/definition.js';
import { capOutput, type ProbeResult } from '../../registry/health/model.js';
import type { ProbeContext } from './context.js';
import { describeFailure } from './failure.js';

type GrpcTarget = Extract<CheckTarget, { kind: 'GRPC' }>;

/**
 * The standard gRPC health protocol (grpc.health.v1.Health/Check): SERVING is
 * passing, any other answer or failure critical. The two messages are one field
 * each, so they are encoded by hand instead of loading a .proto at run time:
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  // 1 = SERVING
 */
const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  return name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), encodeVarint(name.length), name]);
}

/** Reads field 1 (varint) and skips any other field a newer server may add. */
function decodeHealthCheckResponse(bytes: Buffer): number {
  let offset = 0;
  while (offset < bytes.length) {
    const [tag, afterTag] = decodeVarint(bytes, offset);
    const [value, afterValue] = decodeVarint(bytes, afterTag);
    const wireType = tag & 0x7;
    if (tag === 0x08) return value;
    if (wireType === 0) offset = afterValue;
    else if (wireType === 2)
      offset = afterValue + value; // length-delimited
    else if (wireType === 1) offset = afterTag + 8;
    else if (wireType === 5) offset = afterTag + 4;
    else return 0;
  }
  return 0; // proto3 default: UNKNOWN
}

function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function decodeVarint(bytes: Buffer, start: number): [number, number] {
  let value = 0;
  let shift = 0;
  let offset = start;
  while (offset < bytes.length) {
    const byte = bytes[offset++]!;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return [value >>> 0, offset];
}

const GenericClient = makeGenericClientConstructor({}, 'Health');

export async function probeGrpc(target: GrpcTarget, signal: AbortSignal, context: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  // The output leaves the target to the check's name (see probeHttp).
  const { host, port } = splitHostPort(target.address);
  let address: string;
  try {
    // grpc-js resolves names itself; resolving here lets the network policy see the address.
    address = isIP(host) ? host : await context.policy.resolve(host);
    if (!context.policy.allows(address)) throw new Error(`${address} is outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS`);
  } catch (error) {
    return { status: 'CRITICAL', output: capOutput(describeFailure(error, signal)) };
  }
  const client = clientFor(context, address, port, host, target.useTls);

  return new Promise((resolve) => {
    const call = client.makeUnaryRequest<Buffer, number>(
      HEALTH_CHECK_METHOD,
      (service: Buffer) => service,
      decodeHealthCheckResponse,
      encodeHealthCheckRequest(target.service),
      { deadline: Date.now() + timeoutMs },
      (error: ServiceError | null, servingStatus?: number) => {
        signal.removeEventListener('abort', cancel);
        if (error) {
          const reason = error.code === GrpcStatus.DEADLINE_EXCEEDED ? 'timed out' : `${GrpcStatus[error.code] ?? error.code}: ${error.details}`;
          return resolve({ status: 'CRITICAL', output: capOutput(reason) });
        }
        const name = SERVING_STATUS[servingStatus ?? 0] ?? String(servingStatus);
        resolve({ status: servingStatus === 1 ? 'PASSING' : 'CRITICAL', output: name });
      },
    );
    const cancel = () => call.cancel();
    signal.addEventListener('abort', cancel, { once: true });
  });
}

function clientFor(context: ProbeContext, address: string, port: number, host: string, useTls: boolean): Client {
  const key = `${useTls ? 'tls' : 'plain'}:${address}:${port}:${host}`;
  let client = context.grpcClients.get(key);
  if (!client) {
    const target = hostPort(address, port);
    const options = useTls ? { 'grpc.ssl_target_name_override': host, 'grpc.default_authority': host } : {};
    client = new GenericClient(target, useTls ? credentials.createSsl() : credentials.createInsecure(), options);
    context.grpcClients.set(key, client);
  }
  return client;
}
