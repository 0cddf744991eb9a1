import { useState } from 'preact/hooks';
import { DashboardServiceStatesChangedDocument, DashboardServiceStatesDocument, type DashboardStateReportFragment } from '../generated/graphql';
import { useQuery, useSubscription, useWakeAt } from './live';

export type StateReport = DashboardStateReportFragment;

/**
 * The services' states, live. The query paints first (one HTTP round trip); the subscription then
 * sends a fresh report on every change, and when a state's `until` passes. Should a report for a
 * passed `until` be late, the query runs again then: the page never waits on a poll.
 */
export function useServiceStates(prefix: string | null): { report: StateReport | undefined; error: unknown } {
  const query = useQuery(DashboardServiceStatesDocument, { prefix });
  const [pushed, setPushed] = useState<StateReport | undefined>(undefined);
  const error = useSubscription(DashboardServiceStatesChangedDocument, { prefix }, ({ serviceStatesChanged }) => setPushed(serviceStatesChanged));

  const fetched = query.data?.serviceStates;
  // Whichever was computed last is the truth.
  const report = !fetched ? pushed : !pushed ? fetched : Date.parse(pushed.computedAt) >= Date.parse(fetched.computedAt) ? pushed : fetched;
  const nextUntil = report?.services.reduce<number | undefined>((soonest, service) => {
    if (!service.until) return soonest;
    const at = Date.parse(service.until);
    return soonest === undefined || at < soonest ? at : soonest;
  }, undefined);
  // A little after the moment, so the server's clock has passed it too.
  useWakeAt(nextUntil === undefined ? undefined : nextUntil + 1_000, query.refetch);

  return { report, error: query.error ?? error };
}
