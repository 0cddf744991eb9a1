/**
 * A small typed client for Switchboard: queries and mutations over HTTP, subscriptions over WebSocket
 * (graphql-transport-ws) that resume where they left off. Documents come from `./generated` (graphql-codegen,
 * see codegen.ts at the repository's root), so results and variables are typed end to end.
 *
 *   const client = new SwitchboardClient({ url: 'http://127.0.0.1:4000/graphql' });
 *   const { discoverServices } = await client.request(DiscoverServicesDocument, { name: 'api' });
 *   for await (const { serviceChanged } of client.subscribe(OnServiceChangedDocument, { name: 'api' })) { ... }
 */
export { SwitchboardClient, type SubscribeOptions, type SwitchboardClientOptions } from './client.js';
export { SwitchboardRequestError } from './errors.js';
export { SwitchboardError, type ErrorCode } from '@switchboard/contracts';
export * from './generated/graphql.js';
