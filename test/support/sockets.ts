import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * What the kernel says of TCP connections (Linux, /proc/net/tcp and tcp6): how a test knows that
 * a process has sent a request to a server that cannot answer it (say, one stopped with SIGSTOP,
 * whose kernel still accepts connections and data): the bytes wait unread on the server's side.
 */
interface TcpSocket {
  localPort: number;
  remotePort: number;
  /** Bytes received and not read yet by the socket's owner. */
  unread: number;
  inode: string;
}

function tcpSockets(): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 table, say
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const port = (address: string) => parseInt(address.split(':').at(-1)!, 16);
      sockets.push({
        localPort: port(fields[1]!),
        remotePort: port(fields[2]!),
        unread: parseInt(fields[4]!.split(':')[1]!, 16),
        inode: fields[9]!,
      });
    }
  }
  return sockets;
}

/** The inodes of the sockets process `pid` holds open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * Bytes that process `pid` sent over its connections to `port` (a local server) and that the
 * server has not read yet.
 */
export function unreadFrom(pid: number, port: number): number {
  const sockets = tcpSockets();
  const mine = socketInodes(pid);
  const clientPorts = new Set(sockets.filter((socket) => mine.has(socket.inode) && socket.remotePort === port).map((socket) => socket.localPort));
  return sockets.filter((socket) => socket.localPort === port && clientPorts.has(socket.remotePort)).reduce((sum, socket) => sum + socket.unread, 0);
}
