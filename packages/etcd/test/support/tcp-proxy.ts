import { createServer, type AddressInfo, type Socket } from 'node:net';
import { trackOpen } from '../../../../test/support/leaks.js';
import { startTcpProxy as startSharedProxy } from '../../../../test/support/tcp-proxy.js';

/**
 * The shared TCP proxy (test/support/tcp-proxy.ts) in front of etcd, which a test turns into a partition
 * for one client: `cut()` drops its connections and refuses new ones while etcd keeps serving everyone
 * else; `restore()` listens again on the same port. `startSilentServer()` makes a server that accepts
 * connections and never answers (a host that is up but whose etcd hangs).
 */
export interface TcpProxy {
  /** "http://127.0.0.1:<port>". */
  endpoint: string;
  address: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const proxy = await startSharedProxy(target);
  const address = `127.0.0.1:${proxy.port}`;
  const release = trackOpen('proxy', `tcp proxy ${address} → ${target.host}:${target.port}`, () => proxy.cut());
  return {
    endpoint: `http://${address}`,
    address,
    cut: proxy.cut,
    restore: proxy.restore,
    close: async () => {
      await proxy.cut();
      release();
    },
  };
}

/** A server that accepts connections and never says a word. */
export async function startSilentServer(): Promise<{ endpoint: string; address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket)).on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const release = trackOpen('server', `silent server 127.0.0.1:${port}`, () => close());
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    close: async () => {
      await close();
      release();
    },
  };
}
