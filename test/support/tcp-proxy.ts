import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on a loopback port that a test turns into an outage: `cut()` drops every connection and
 * refuses new ones (as a stopped or partitioned server does), `restore()` listens again on the same port.
 * What passes between a client and the target is `relay`'s to decide (default: everything, both ways).
 * Callers register it with the leak check (`tracked`/`trackOpen`) under their own name.
 */
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
}

/** Connects a client to its upstream; both are closed together whatever the relay does. */
export type Relay = (client: Socket, upstream: Socket) => void;

const pipeBothWays: Relay = (client, upstream) => {
  client.pipe(upstream);
  upstream.pipe(client);
};

export async function startTcpProxy(target: { host: string; port: number }, relay: Relay = pipeBothWays): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const onConnection = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    relay(client, upstream);
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
  return {
    port,
    cut,
    async restore() {
      if (!server) await listen(port);
    },
  };
}
