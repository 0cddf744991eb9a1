import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { eventually } from './wait.js';

/**
 * The kernel's queues of the loopback TCP socket from `localPort` to `remotePort` (Linux: read from
 * /proc/net/tcp and tcp6): `sent` is what it sent that the peer's kernel has not acknowledged yet,
 * `unread` what it received that its process has not read. Undefined when there is no such socket.
 */
export function tcpQueues(localPort: number, remotePort: number): { sent: number; unread: number } | undefined {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let table: string;
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue ...
      const [, local, remote, , queues] = line.trim().split(/\s+/);
      if (!local || !remote || !queues) continue;
      if (parseInt(local.split(':').at(-1)!, 16) !== localPort || parseInt(remote.split(':').at(-1)!, 16) !== remotePort) continue;
      const [sent, unread] = queues.split(':').map((hex) => parseInt(hex, 16));
      return { sent: sent!, unread: unread! };
    }
  }
  return undefined;
}

/**
 * Resolves once the process at the other end of a loopback `socket` has read everything written
 * to it so far: the peer's kernel acknowledged every byte, and the peer's receive queue is empty.
 * What proves a request is in the server's hands (in flight), not in a buffer on the way.
 */
export async function untilPeerHasRead(socket: Socket, timeoutMs = 10_000): Promise<void> {
  if (socket.connecting) await once(socket, 'connect');
  const { localPort, remotePort } = socket;
  if (localPort === undefined || remotePort === undefined) throw new Error('the socket is not connected');
  await eventually(
    () => {
      const ours = tcpQueues(localPort, remotePort);
      const theirs = tcpQueues(remotePort, localPort);
      if (ours === undefined || theirs === undefined) throw new Error(`no loopback TCP socket ${localPort} <-> ${remotePort} in /proc/net/tcp`);
      return socket.writableLength === 0 && ours.sent === 0 && theirs.unread === 0 ? true : undefined;
    },
    timeoutMs,
    5,
  );
}
