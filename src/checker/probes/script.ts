import type { CheckTarget } from '@switchboard/contracts';
import { spawn } from 'node:child_process';
import { capOutput, OUTPUT_LIMIT, type ProbeResult } from '../../registry/health/model.js';
import { describeFailure } from './failure.js';

type ScriptTarget = Extract<CheckTarget, { kind: 'SCRIPT' }>;

/**
 * Consul's script check: exit 0 passing, 1 warning, anything else critical; killed
 * (SIGKILL) at the timeout. The command runs without a shell and with a minimal
 * environment: the registry's own variables (its token, its database URL) are not
 * handed to it.
 */
export function probeScript(target: ScriptTarget, signal: AbortSignal): Promise<ProbeResult> {
  // The output leaves the command line to the check's name (see probeHttp).
  return new Promise((resolve) => {
    const child = spawn(target.command, target.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      killSignal: 'SIGKILL',
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (error) => {
      resolve({ status: 'CRITICAL', output: capOutput(`${describeFailure(error, signal)}${output ? ` Output: ${output}` : ''}`) });
    });
    child.once('close', (code, killedBy) => {
      if (signal.aborted || code === null)
        return resolve({
          status: 'CRITICAL',
          output: capOutput(`${signal.aborted ? describeFailure(null, signal) : `killed by ${killedBy}`}.${output ? ` Output: ${output}` : ''}`),
        });
      const status = code === 0 ? 'PASSING' : code === 1 ? 'WARNING' : 'CRITICAL';
      resolve({ status, output: capOutput(output || `exit ${code}`) });
    });
  });
}
