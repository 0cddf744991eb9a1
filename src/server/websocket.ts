import { isUtf8 } from 'node:buffer';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { Disposable } from 'graphql-ws';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';
import { disconnectFields } from './disconnects.js';

/** WebSocket close code for a message that is not valid UTF-8 (RFC 6455, 7.4.1). */
const INVALID_FRAME_PAYLOAD = 1007;

/** How often an idle connection is pinged; one that misses a pong for as long is dropped. */
const KEEP_ALIVE_MS = 12_000;

/**
 * graphql-ws on a `ws` server: the protocol is graphql-ws's `makeServer`; this
 * adapter replaces `graphql-ws/use/ws`, whose version prints errors to stderr with
 * console.error (outside the JSON logs), closes the whole connection with 4500 on
 * any error, and decodes binary frames with String(buffer), which silently turns
 * invalid UTF-8 into U+FFFD.
 */
export function serveGraphQLOverWebSocket<E extends { socket: WebSocket; callerAddress: string | undefined }>(
  wsServer: WebSocketServer,
  options: ServerOptions<Record<string, unknown> | undefined, E>,
  log: Logger,
): Disposable {
  const server = makeServer<Record<string, unknown> | undefined, E>(options);
  wsServer.options.handleProtocols = handleProtocols;
  wsServer.on('error', (error) => log.error({ err: error }, 'websocket server error'));

  wsServer.on('connection', (socket, request) => {
    // A socket's errors are the client's doing: a frame ws refused (invalid UTF-8 in a
    // text frame: 1007; over maxPayload: 1009; ws closes the socket itself) or a peer
    // that vanished (ECONNRESET). Normal churn: a debug line without a stack.
    socket.on('error', (error) => log.debug(disconnectFields(error), 'websocket closed by a client error'));
    const stopKeepAlive = keepAlive(socket);

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data: RawData, isBinary: boolean) => {
            const text = decode(data, isBinary);
            // Binary frames skip ws's UTF-8 check; decoding them would replace bad bytes with U+FFFD.
            if (text === undefined) return socket.close(INVALID_FRAME_PAYLOAD, 'Message is not valid UTF-8');
            // Handling a subscribe message lasts as long as the subscription: only the text may stay
            // referenced that long, not the frame's buffer (a slice that keeps its whole read chunk).
            handle(text).catch((error: unknown) => {
              // makeServer throws for protocol violations it did not close on itself; the operation
              // handlers answer their own errors, so what lands here ends only this connection.
              log.error({ err: error }, 'websocket message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      // Not the upgrade request itself: its headers would stay in memory as long as the connection.
      { socket, callerAddress: request.socket.remoteAddress } as E,
    );
    // `on`, not `once`: ws emits 'close' once, and a once-wrapper costs every connection a few objects.
    socket.on('close', (code, reason) => {
      stopKeepAlive();
      void closed(code, reason.toString());
    });
  });

  return {
    dispose: async () => {
      for (const client of wsServer.clients) client.close(1001, 'Going away');
      wsServer.removeAllListeners();
      await new Promise<void>((resolve, reject) => wsServer.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** A frame's text; undefined for a binary frame that is not valid UTF-8. */
function decode(data: RawData, isBinary: boolean): string | undefined {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  if (isBinary && !isUtf8(bytes)) return undefined;
  return bytes.toString('utf8');
}

/** Pings an open socket; one that misses a pong is terminated (as graphql-ws/use/ws does). */
function keepAlive(socket: WebSocket): () => void {
  let pongWait: NodeJS.Timeout | undefined;
  const interval = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
    socket.once('pong', () => clearTimeout(pongWait));
    socket.ping();
  }, KEEP_ALIVE_MS);
  return () => {
    clearInterval(interval);
    clearTimeout(pongWait);
  };
}
