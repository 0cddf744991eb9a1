import { describe, expect, it } from 'vitest';
import { HealthCheckDocument, RegisterHealthCheckDocument, RegisterServiceDocument } from '@switchboard/client';
import { errorCode, instance } from './support/client.js';
import { eventually } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';

// Script checks off (the default) and checks confined to one network that excludes loopback.
const registry = useRegistryNode({ SWITCHBOARD_HEALTH_ALLOWED_NETWORKS: '10.0.0.0/8, 192.168.0.0/16' });

describe('what the operator has not allowed', () => {
  it('script checks are FORBIDDEN unless enabled', async () => {
    await registry.client.request(RegisterServiceDocument, { input: instance({ id: 'scripted' }) });
    const attempt = registry.client.request(RegisterHealthCheckDocument, { serviceId: 'scripted', check: { script: '/bin/true', interval: '5s' } });
    expect(await errorCode(attempt)).toBe('FORBIDDEN');
    const declared = registry.client.request(RegisterServiceDocument, { input: instance({ id: 'scripted-2', healthCheck: { script: '/bin/true' } }) });
    expect(await errorCode(declared)).toBe('FORBIDDEN');
    const [row] = await registry.database.sql`select count(*)::int as n from health_checks`;
    expect(row!['n']).toBe(0);
  });

  it('a literal address outside the allowed networks is FORBIDDEN at registration', async () => {
    await registry.client.request(RegisterServiceDocument, { input: instance({ id: 'ssrf-1' }) });
    for (const check of [{ http: 'http://169.254.169.254/latest/meta-data/' }, { tcp: '127.0.0.1:5432' }, { grpc: '[::1]:50051' }]) {
      expect(await errorCode(registry.client.request(RegisterHealthCheckDocument, { serviceId: 'ssrf-1', check }))).toBe('FORBIDDEN');
    }
    // Inside the allowed networks is fine (the address need not answer).
    const allowed = await registry.client.request(RegisterHealthCheckDocument, { serviceId: 'ssrf-1', check: { tcp: '10.255.255.1:80', interval: '1s' } });
    expect(allowed.registerHealthCheck.kind).toBe('TCP');
  });

  it('a host name is checked where it resolves to, when the probe runs', async () => {
    const target = await startHttpTarget();
    try {
      await registry.client.request(RegisterServiceDocument, { input: instance({ id: 'ssrf-2' }) });
      // "localhost" passes registration (a name), but resolves to loopback, which is not allowed.
      const { registerHealthCheck } = await registry.client.request(RegisterHealthCheckDocument, {
        serviceId: 'ssrf-2',
        check: { http: `http://localhost:${target.port}/secret`, interval: '1s' },
      });
      const checked = await eventually(async () => {
        const { healthCheck } = await registry.client.request(HealthCheckDocument, { id: registerHealthCheck.id });
        return healthCheck!.checkCount > 0 ? healthCheck! : undefined;
      }, 8_000);
      expect(checked.status).toBe('CRITICAL');
      expect(checked.output).toContain('outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS');
      expect(target.hits('/secret')).toEqual([]); // the request never left
    } finally {
      await target.close();
    }
  });
});
