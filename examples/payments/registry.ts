import WebSocket from 'ws';
import { SwitchboardClient } from '@switchboard/client';
import { SwitchboardRegistry } from '@switchboard/sdk';

/**
 * Where the example's processes find Switchboard: SWITCHBOARD_URL (default `npm start`'s address) and, when the
 * server requires one, SWITCHBOARD_TOKEN. `ws` carries the subscriptions: Node 20 has no global WebSocket.
 */
export const registryOptions = {
  url: process.env['SWITCHBOARD_URL'] ?? 'http://127.0.0.1:4000/graphql',
  token: process.env['SWITCHBOARD_TOKEN'],
  webSocketImpl: WebSocket,
};

export function connectRegistry(): SwitchboardRegistry {
  return new SwitchboardRegistry(new SwitchboardClient(registryOptions));
}

/** The address this process serves on and registers: HOST, default loopback. */
export const host = process.env['HOST'] ?? '127.0.0.1';

/** The port this process serves on: PORT, else `fallback`. */
export function portFromEnvironment(fallback: number): number {
  const port = Number(process.env['PORT'] ?? fallback);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`PORT must be a port number from 1 to 65535, not "${process.env['PORT']}".`);
  return port;
}
