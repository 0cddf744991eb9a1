import type { CheckTarget } from '@switchboard/contracts';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { capOutput, OUTPUT_LIMIT, type ProbeResult } from '../../registry/health/model.js';
import type { ProbeContext } from './context.js';
import { describeFailure } from './failure.js';

type HttpTarget = Extract<CheckTarget, { kind: 'HTTP' }>;

/**
 * Consul's HTTP check: 2xx passing, 429 warning (the target is alive but asks for
 * less traffic), anything else, a connection error or a timeout critical. Output is
 * the status line and the start of the body. Redirects are not followed (a 3xx is
 * reported as it is): a redirect must not lead the probe past the network policy.
 * The output does not name the target: the check's name does ("HTTP GET <url>" by
 * default), and the instance's health output is "<check name>: <output>", which
 * repeated the prefix when the probe wrote it too.
 */
export function probeHttp(target: HttpTarget, signal: AbortSignal, context: ProbeContext): Promise<ProbeResult> {
  const secure = target.url.startsWith('https:');
  const request = secure ? httpsRequest : httpRequest;
  const agent = secure ? (target.tlsSkipVerify ? context.httpsInsecure : context.https) : context.http;

  return new Promise((resolve) => {
    const req = request(
      target.url,
      { method: target.method, headers: { 'user-agent': 'Switchboard Health Check', accept: 'text/plain, text/*, */*', ...target.headers }, agent, signal },
      (res) => {
        const code = res.statusCode ?? 0;
        const status = code >= 200 && code < 300 ? 'PASSING' : code === 429 ? 'WARNING' : 'CRITICAL';
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          const body = Buffer.concat(chunks).subarray(0, OUTPUT_LIMIT).toString('utf8');
          const statusLine = [code, res.statusMessage].filter(Boolean).join(' ');
          resolve({ status, output: capOutput(body ? `${statusLine} Output: ${body}` : statusLine) });
        };
        res.on('data', (chunk: Buffer) => {
          if (size >= OUTPUT_LIMIT) return;
          chunks.push(chunk);
          size += chunk.length;
          // Enough for the output: stop reading rather than download a large body.
          if (size >= OUTPUT_LIMIT) {
            finish();
            res.destroy();
          }
        });
        res.on('end', finish);
        res.on('error', finish);
      },
    );
    req.on('error', (error) => resolve({ status: 'CRITICAL', output: capOutput(describeFailure(error, signal)) }));
    req.end();
  });
}
