import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { isUnauthenticated, request, subscribe, useConnection } from './connection';

export interface QueryState<Result> {
  data: Result | undefined;
  error: unknown;
  loading: boolean;
  /** Reads again; while a read is running, one more follows it (a burst of changes costs two reads, not one each). */
  refetch(): void;
}

/**
 * A query, re-run when its variables change and on `refetch()`. The last answer stays shown while
 * the next one loads, so a live page does not flicker.
 */
export function useQuery<Result, Variables>(document: TypedDocumentNode<Result, Variables>, variables: Variables): QueryState<Result> {
  const connection = useConnection();
  const key = JSON.stringify(variables);
  const [state, setState] = useState<{ data: Result | undefined; error: unknown; loading: boolean; key: string }>({
    data: undefined,
    error: undefined,
    loading: true,
    key,
  });
  const running = useRef<{ key: string; again: boolean } | undefined>(undefined);
  const current = useRef(key);
  current.current = key;

  const run = useCallback(() => {
    if (running.current?.key === key) {
      running.current.again = true;
      return;
    }
    const mine = { key, again: false };
    running.current = mine;
    setState((previous) => ({ ...previous, loading: true }));
    const vars = JSON.parse(key) as Variables;
    request(connection.client, document, vars)
      .then(
        (data) => ({ data, error: undefined }),
        (error: unknown) => ({ data: undefined, error }),
      )
      .then(({ data, error }) => {
        if (running.current === mine) running.current = undefined;
        if (current.current !== mine.key) return; // the variables moved on: a newer read owns the state
        if (error !== undefined && isUnauthenticated(error)) connection.unauthenticated(error);
        setState((previous) => ({
          data: error === undefined ? data : previous.key === mine.key ? previous.data : undefined,
          error,
          loading: mine.again,
          key: mine.key,
        }));
        if (mine.again) run();
      });
  }, [connection, document, key]);

  useEffect(() => {
    run();
  }, [run]);

  const fresh = state.key === key;
  return { data: fresh ? state.data : undefined, error: fresh ? state.error : undefined, loading: !fresh || state.loading, refetch: run };
}

/**
 * A subscription for as long as the component shows it (or until `variables` is undefined).
 * The client reconnects by itself and resumes after the last event received; `onData` sees each
 * payload once. Returns the error that ended it, if one did.
 */
export function useSubscription<Result, Variables>(
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables | undefined,
  onData: (data: Result) => void,
): unknown {
  const connection = useConnection();
  const handler = useRef(onData);
  handler.current = onData;
  const [error, setError] = useState<unknown>(undefined);
  const key = variables === undefined ? undefined : JSON.stringify(variables);

  useEffect(() => {
    if (key === undefined) return;
    setError(undefined);
    const vars = JSON.parse(key) as Variables;
    const payloads = subscribe(connection.client, document, vars);
    let stopped = false;
    void (async () => {
      try {
        for await (const payload of payloads) if (!stopped) handler.current(payload);
      } catch (failure) {
        if (stopped) return;
        if (isUnauthenticated(failure)) connection.unauthenticated(failure);
        setError(failure);
      }
    })();
    return () => {
      stopped = true;
      void payloads.return?.();
    };
  }, [connection, document, key]);

  return error;
}

/** Calls `callback` at `at` (a time), re-arming past setTimeout's 24.8-day limit; nothing when undefined. */
export function useWakeAt(at: number | undefined, callback: () => void): void {
  const handler = useRef(callback);
  handler.current = callback;
  useEffect(() => {
    if (at === undefined) return;
    let timer: ReturnType<typeof setTimeout>;
    const arm = () => {
      const wait = at - Date.now();
      if (wait <= 0) return handler.current();
      timer = setTimeout(arm, Math.min(wait, 2 ** 31 - 1));
    };
    arm();
    return () => clearTimeout(timer);
  }, [at]);
}
