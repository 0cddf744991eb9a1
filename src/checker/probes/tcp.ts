import type { CheckTarget } from '@switchboard/contracts';
import { connect } from 'node:net';
import { splitHostPort } from '../../registry/health/definition.js';
import { capOutput, type ProbeResult } from '../../registry/health/model.js';
import type { ProbeContext } from './context.js';
import { describeFailure } from './failure.js';

type TcpTarget = Extract<CheckTarget, { kind: 'TCP' }>;

/**
 * Consul's TCP check: a completed connect is passing, anything else critical. The
 * output leaves the target to the check's name (see probeHttp).
 */
export function probeTcp(target: TcpTarget, signal: AbortSignal, context: ProbeContext): Promise<ProbeResult> {
  const { host, port } = splitHostPort(target.address);
  return new Promise((resolve) => {
    const socket = connect({ host, port, lookup: context.policy.lookup, signal });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ status: 'PASSING', output: 'Connected.' });
    });
    socket.once('error', (error) => {
      socket.destroy();
      resolve({ status: 'CRITICAL', output: capOutput(describeFailure(error, signal)) });
    });
  });
}
