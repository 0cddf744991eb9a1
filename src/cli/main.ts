#!/usr/bin/env node
import module from 'node:module';

// A command line starts many times: on Node 22.1+ keep the compiled code between runs (older Node has no such
// cache). It must be on before the program's modules load, hence the dynamic imports below.
module.enableCompileCache?.();

// `switchboard events tail | head -3`: the reader went away, which ends the command, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

await import('./production.js');
const { buildProgram } = await import('./program.js');
await buildProgram().parseAsync();
