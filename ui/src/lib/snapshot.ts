import { useState } from 'preact/hooks';

/**
 * Where a live subscription starts: the event log's position read with the first snapshot of
 * `view` (a key for what the page shows). Refetches after that keep the position, so each change
 * restarts nothing; a new view starts from its own first snapshot. Undefined until one arrived.
 */
export function useSnapshotPosition(view: string, latestEventId: string | undefined): string | undefined {
  const [position, setPosition] = useState<{ view: string; after: string } | undefined>(undefined);
  if (latestEventId !== undefined && position?.view !== view) {
    // Set during render (Preact re-renders at once): the subscription never starts from another view's position.
    setPosition({ view, after: latestEventId });
    return latestEventId;
  }
  return position?.view === view ? position.after : undefined;
}
