import { afterAll, afterEach, beforeEach } from 'vitest';
import { fileEnded, testEnded, testStarted } from './leaks.js';

/**
 * Fails the test that leaves a node, process, database, feed, worker, subscription,
 * socket or target open (see leaks.ts), then closes what it left so the tests after
 * it run clean. Registered as a setup file: these hooks wrap every file's own, so a
 * test's afterEach has run before the check, and a file's afterAll before the last one.
 */
beforeEach(({ task }) => {
  testStarted(task.id, task.name);
});

afterEach(async ({ task }) => {
  await failOn(testEnded(task.id), 'This test left open');
});

afterAll(async () => {
  await failOn(fileEnded(), 'This file left open');
});

async function failOn(leaked: { kind: string; label: string; close: () => Promise<unknown> }[], what: string): Promise<void> {
  if (leaked.length === 0) return;
  await Promise.allSettled(leaked.map((resource) => closeWithin(resource.close, 10_000)));
  const list = leaked.map((resource) => `${resource.kind} ${resource.label}`).join('; ');
  throw new Error(
    `${what}: ${list}. Close what a test opens before it ends (try/finally, or afterEach); open what tests share in beforeAll and close it in afterAll.`,
  );
}

async function closeWithin(close: () => Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([close().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
