/**
 * What tests open (nodes, server processes, databases, feeds, workers, client
 * subscriptions, sockets, targets) and which test opened it, so that the test that
 * leaves one open fails (test/support/leak-check.ts, a setup file, as graphile-worker's
 * suite does). A leak left for a later test to trip over would fail that test instead,
 * or hang the file at its end.
 *
 * Something opened while no test runs (in beforeAll) belongs to the file and must be
 * closed by the file's end; something opened while a test runs (in the test, or its
 * beforeEach) must be closed by the test's end (its afterEach included). Support
 * helpers register what they open; a test that builds something itself (an EventFeed)
 * wraps it in `tracked`.
 */

interface Resource {
  kind: string;
  label: string;
  /** Tests running when it was opened; empty for a file's own resource. */
  owners: Set<string>;
  /** Their names, when there were several (concurrent tests): any of them may have opened it. */
  suspects: string[];
  close: () => Promise<unknown>;
}

const open = new Set<Resource>();
/** Tests between their beforeEach and afterEach, by id, with their names. */
const running = new Map<string, string>();

/**
 * Records an open resource; returns the function to call once it is closed. `close`
 * is how the leak check shuts it when a test forgot to.
 */
export function trackOpen(kind: string, label: string, close: () => Promise<unknown>): () => void {
  const resource: Resource = { kind, label, owners: new Set(running.keys()), suspects: running.size > 1 ? [...running.values()] : [], close };
  open.add(resource);
  return () => void open.delete(resource);
}

/**
 * Tracks `resource` until its `method` (close, stop, drop …) has completed; returns
 * the resource, whose method now also marks it closed.
 */
export function tracked<T extends object, K extends keyof T>(kind: string, label: string, resource: T, method: K): T {
  const close = (resource[method] as () => Promise<unknown>).bind(resource);
  let closing: Promise<unknown> | undefined;
  const release = trackOpen(kind, label, () => (closing ??= close()));
  (resource as Record<K, unknown>)[method] = () => (closing ??= close()).finally(release);
  return resource;
}

export function testStarted(testId: string, name: string): void {
  running.set(testId, name);
}

/**
 * The test ended: what it opened and left open. With concurrent tests a resource
 * belongs to every test running when it was opened, and is reported by the last
 * of them to end.
 */
export function testEnded(testId: string): { kind: string; label: string; close: () => Promise<unknown> }[] {
  running.delete(testId);
  const leaked: Resource[] = [];
  for (const resource of open) {
    if (!resource.owners.delete(testId)) continue;
    if (resource.owners.size === 0) leaked.push(resource);
  }
  for (const resource of leaked) open.delete(resource);
  return leaked.map((resource) => ({
    ...resource,
    label: resource.suspects.length ? `${resource.label} (opened by one of the concurrent tests "${resource.suspects.join('", "')}")` : resource.label,
  }));
}

/** The file ended: whatever is still open. */
export function fileEnded(): { kind: string; label: string; close: () => Promise<unknown> }[] {
  const leaked = [...open];
  open.clear();
  return leaked;
}
