import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { databaseUrl } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { postgresForRun, type TestDatabaseServer } from './database-server.js';

/**
 * One PostgreSQL for the whole run: the server DATABASE_URL points at, or an
 * embedded one when it is unset. A migrated template database is built once;
 * every test file then clones it (create database ... template ...).
 */
export default async function setup(project: TestProject) {
  const postgresServer = await postgresForRun(process.env['DATABASE_URL'], 'switchboard-test');
  const { adminUrl } = postgresServer;
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const server: TestDatabaseServer = { adminUrl, prefix: `sbt_${runId}`, template: `sbt_${runId}_template` };

  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${server.template}"`);
  await runMigrations(databaseUrl(adminUrl, server.template));
  project.provide('databaseServer', server);
  console.log(`tests use PostgreSQL at ${postgresServer.embedded ? 'an embedded server' : 'DATABASE_URL'} (databases ${server.prefix}_*)`);

  return async () => {
    // Drop every database this run created, including ones a crashed file left behind.
    const leftovers = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`${server.prefix}%`}`;
    for (const { datname } of leftovers) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    await admin.end();
    await postgresServer.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseServer: TestDatabaseServer;
  }
}
