import { EtcdRegistry, type EtcdRegistryOptions } from '@switchboard/etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';
import { tracked } from '../../../../test/support/leaks.js';
import { startEtcd, type EtcdServer } from './etcd-server.js';

/** An EtcdRegistry the leak check holds the test to closing; its warnings collected rather than printed. */
export function openRegistry(endpoint: string, options: EtcdRegistryOptions = {}): { registry: EtcdRegistry; warnings: string[] } {
  const warnings: string[] = [];
  const registry = new EtcdRegistry({ endpoints: endpoint, dialTimeout: '2s', onWarning: (message) => warnings.push(message), ...options });
  return { registry: tracked('registry', `EtcdRegistry ${registry.backend}`, registry, 'close'), warnings };
}

/** A plain etcd3 client, for what a test does behind the registry's back; `close()` it. */
export function openClient(endpoint: string, auth?: { username: string; password: string }): { client: Etcd3; close(): Promise<void> } {
  const client = new Etcd3({ hosts: endpoint, ...(auth ? { auth } : {}) });
  return tracked('client', `etcd3 client ${endpoint}`, { client, close: async () => client.close() }, 'close');
}

/** One etcd for the file: started before its tests, closed after them. */
export function useEtcd(): { server: EtcdServer } {
  const fixture = {} as { server: EtcdServer };
  beforeAll(async () => {
    fixture.server = await startEtcd();
  });
  afterAll(async () => {
    await fixture.server?.close();
  });
  return fixture;
}
