import { SwitchboardClient } from '@switchboard/client';
import { start, SwitchboardRegistry } from '@switchboard/sdk';
import WebSocket from 'ws';

/**
 * One start-up, in a process of its own (bench/startup.ts runs many): imports the service's module (decorated.ts,
 * whose decorators validate every declaration, or plain.ts, which imports the generated module of constants), then
 * start() registers the instance and the 24 components it provides in dependency order. Prints the times as JSON.
 */
const [mode, url] = process.argv.slice(2) as ['decorators' | 'generated', string];
const begin = performance.now();
const { Warehouse } = (mode === 'generated' ? await import('./startup/plain.js') : await import('./startup/decorated.js')) as { Warehouse: new () => object };
const declared = performance.now();
const client = new SwitchboardClient({ url, webSocketImpl: WebSocket });
const running = await start(Warehouse, { registry: new SwitchboardRegistry(client), address: '127.0.0.1', handleSignals: false });
const started = performance.now();
if (running.declaredBy !== mode) throw new Error(`expected a start from ${mode}, got ${running.declaredBy}`);
console.log(JSON.stringify({ declareMs: declared - begin, startMs: started - declared, components: running.components.length }));
await running.stop();
await client.close();
