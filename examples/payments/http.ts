import { createServer, type IncomingMessage, type Server } from 'node:http';

/** A route's answer: an HTTP status and a JSON body. */
export type Answer = [status: number, body: unknown];
/** Routes by "METHOD /path"; a route gets the request's parsed JSON body (undefined when it has none). */
export type Routes = Record<string, (body: unknown) => Answer | Promise<Answer>>;

/** A JSON request error: what the caller sent is wrong, with a code. */
export class BadRequest extends Error {
  readonly code = 'BAD_USER_INPUT';
}

/** Serves `routes` as JSON over HTTP on host:port; resolves once listening. */
export async function serveJson(host: string, port: number, routes: Routes): Promise<Server> {
  const server = createServer((request, response) => {
    const route = routes[`${request.method} ${new URL(request.url ?? '/', 'http://localhost').pathname}`];
    const reply = ([status, body]: Answer) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!route) return reply([404, { error: { code: 'NOT_FOUND', message: `No route ${request.method} ${request.url}.` } }]);
    readJson(request)
      .then(route)
      .then(reply, (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof BadRequest) reply([400, { error: { code: error.code, message } }]);
        else reply([500, { error: { code: 'INTERNAL', message } }]);
      });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of request) text += chunk;
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('The body is not JSON.');
  }
}
