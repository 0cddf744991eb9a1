import { ConsulRegistry, type ConsulRegistryOptions } from '@switchboard/consul';
import { tracked } from '../../../../test/support/leaks.js';

/** A ConsulRegistry the leak check knows of: a test that leaves one open (its watches, its sockets) fails. */
export function consulRegistry(options: ConsulRegistryOptions): ConsulRegistry {
  return tracked('consul registry', `ConsulRegistry at ${options.address}`, new ConsulRegistry(options), 'close');
}

/** Warnings a registry gave, collected for a test to look at. */
export function warnings(): { messages: string[]; onWarning: (message: string) => void } {
  const messages: string[] = [];
  return { messages, onWarning: (message) => messages.push(message) };
}

export interface ConsulReply {
  status: number;
  index: number;
  text: string;
  json: <T = unknown>() => T;
}

/** Plain HTTP to a Consul API (Switchboard's /v1 here), as another Consul client would write to it. */
export function consulApi(address: string, token: string) {
  const call = async (path: string, init: RequestInit = {}): Promise<ConsulReply> => {
    const response = await fetch(`http://${address}${path}`, { ...init, headers: { 'x-consul-token': token, ...(init.headers as Record<string, string>) } });
    const text = await response.text();
    return { status: response.status, index: Number(response.headers.get('x-consul-index')), text, json: <T>() => JSON.parse(text) as T };
  };
  return {
    get: (path: string) => call(path),
    put: (path: string, body?: unknown) =>
      call(path, { method: 'PUT', ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) }),
    delete: (path: string) => call(path, { method: 'DELETE' }),
  };
}

/** A promise and the function that settles it: for a callback a test waits on. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}
