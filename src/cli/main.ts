#!/usr/bin/env node
import './production.js';
import { buildProgram } from './program.js';

// `switchboard events tail | head -3`: the reader went away, which ends the command, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

await buildProgram().parseAsync();
