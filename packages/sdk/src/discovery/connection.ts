interface ObservableSocket {
  addEventListener(type: 'open' | 'close', listener: () => void): void;
}

type SocketClass = new (url: string, protocols?: string | string[]) => ObservableSocket;

/**
 * The WebSocket class with every socket reporting when it opens and closes: the client reconnects on its
 * own and says nothing meanwhile, but discovery must know at once that its pushes stopped (stale-on-error).
 * Undefined stays undefined, so the client still explains that a WebSocket implementation is missing.
 */
export function observedWebSocket(base: unknown, on: { open: () => void; close: () => void }): unknown {
  if (typeof base !== 'function') return base;
  const Base = base as SocketClass;
  return class ObservedWebSocket extends Base {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('open', on.open);
      this.addEventListener('close', on.close);
    }
  };
}
