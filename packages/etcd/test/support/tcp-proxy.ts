import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { trackOpen } from '../../../../test/support/leaks.js';

/**
 * A TCP proxy in front of etcd that a test turns into a partition for one client: `cut()` drops its
 * connections and refuses new ones while etcd keeps serving everyone else; `restore()` listens again on the
 * same port. `silent()` makes a server that accepts connections and never answers (a host that is up but
 * whose etcd hangs).
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
  const sockets = new Set<Socket>();
  const onConnection = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  };
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const next = createServer(onConnection);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        server = next;
        resolve((next.address() as AddressInfo).port);
      });
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (!server) return resolve();
      const closing = server;
      server = undefined;
      closing.close(() => resolve());
    });
  const port = await listen(0);
  const release = trackOpen('proxy', `tcp proxy 127.0.0.1:${port} → ${target.host}:${target.port}`, () => cut());
  return {
    endpoint: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    cut,
    restore: async () => void (await listen(port)),
    close: async () => {
      await cut();
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
