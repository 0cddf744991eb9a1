import { writeFileSync } from 'node:fs';
import { printSchemaSDL } from '../graphql/schema/index.js';

export function printSchemaCommand(options: { out?: string }): void {
  const sdl = printSchemaSDL();
  if (options.out) writeFileSync(options.out, sdl);
  else process.stdout.write(sdl);
}
