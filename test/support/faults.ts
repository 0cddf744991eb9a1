import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';

/** One answer to a GraphQL request, as a fault test records it. */
export interface Answer {
  ok: boolean;
  /** `extensions.code` of the first error; `NETWORK` when no HTTP answer came (the server is gone?). */
  code?: string;
  outcome?: unknown;
  message?: string;
  data?: Record<string, unknown> | null;
  status?: number;
  ms: number;
}

/** A plain POST, so every answer is seen as it is, including the ones a typed client would throw. */
export async function ask(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  { signal, token }: { signal?: AbortSignal; token?: string } = {},
): Promise<Answer> {
  const started = performance.now();
  let response: Response;
  let body: { data?: Record<string, unknown> | null; errors?: { message?: string; extensions?: Record<string, unknown> }[] };
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
      ...(signal ? { signal } : {}),
    });
    body = (await response.json()) as typeof body;
  } catch (error) {
    if (signal?.aborted) throw error;
    return { ok: false, code: 'NETWORK', ms: performance.now() - started };
  }
  const ms = performance.now() - started;
  const error = body.errors?.[0];
  if (error)
    return {
      ok: false,
      code: String(error.extensions?.['code']),
      outcome: error.extensions?.['outcome'],
      message: error.message,
      data: body.data ?? null,
      status: response.status,
      ms,
    };
  return { ok: true, data: body.data ?? null, status: response.status, ms };
}

export async function readiness(url: string): Promise<{ status: number; body: unknown; ms: number }> {
  const started = performance.now();
  const response = await fetch(new URL('/readyz', url));
  return { status: response.status, body: await response.json(), ms: performance.now() - started };
}

/** Retries `attempt` until it answers ok; resolves with the time that took. */
export async function untilOk(attempt: () => Promise<Answer>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const answer = await attempt();
    if (answer.ok) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`no success within ${timeoutMs}ms; last answer ${JSON.stringify(answer)}`);
    await sleep(50);
  }
}

/** Reads the database directly (not through a server) to check what was really committed. */
export async function inDatabase<T>(url: string, read: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await read(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
