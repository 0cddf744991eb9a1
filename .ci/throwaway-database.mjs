// Creates or drops a throwaway database for the DATABASE_URL test run.
//   node .ci/throwaway-database.mjs create <server-url>        -> prints the new database's URL
//   node .ci/throwaway-database.mjs drop <server-url> <db-url>
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

const [command, serverUrl, databaseUrl] = process.argv.slice(2);
const sql = postgres(serverUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
try {
  if (command === 'create') {
    const name = `switchboard_ci_${randomBytes(4).toString('hex')}`;
    await sql.unsafe(`create database "${name}"`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    process.stdout.write(url.toString());
  } else if (command === 'drop') {
    const name = new URL(databaseUrl).pathname.slice(1);
    if (!/^switchboard_ci_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop ${name}`);
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
  } else {
    throw new Error(`unknown command ${command}`);
  }
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
} finally {
  await sql.end({ timeout: 2 });
}
