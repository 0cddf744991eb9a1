import { formatDuration } from '@switchboard/contracts';
import type { HealthCheck, ProbeResult } from '../../registry/health/model.js';
import type { ProbeContext } from './context.js';
import { probeGrpc } from './grpc.js';
import { probeHttp } from './http.js';
import { probeScript } from './script.js';
import { probeTcp } from './tcp.js';

export { ProbeContext } from './context.js';

/**
 * Runs one check against its target, within its timeout. Probes never touch the
 * database and never throw: every outcome is a status with an output.
 */
export async function runProbe(check: Pick<HealthCheck, 'target' | 'timeoutMs' | 'ttlMs'>, context: ProbeContext, stop: AbortSignal): Promise<ProbeResult> {
  const target = check.target;
  // Claimed only once its deadline passed without an update: nothing to probe.
  if (target.kind === 'TTL') return { status: 'CRITICAL', output: `TTL expired: no update within ${formatDuration(check.ttlMs ?? 0)}.` };

  // One controller and one timer per probe (cheaper than composing AbortSignal.timeout
  // with the stop signal, which shows at thousands of probes a second).
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The probe timed out.', 'TimeoutError')), check.timeoutMs);
  const onStop = () => controller.abort(new DOMException('The worker is stopping.', 'AbortError'));
  stop.addEventListener('abort', onStop, { once: true });
  try {
    switch (target.kind) {
      case 'HTTP':
        return await probeHttp(target, controller.signal, context);
      case 'TCP':
        return await probeTcp(target, controller.signal, context);
      case 'GRPC':
        return await probeGrpc(target, controller.signal, context, check.timeoutMs);
      case 'SCRIPT':
        return await probeScript(target, controller.signal);
    }
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
  }
}
