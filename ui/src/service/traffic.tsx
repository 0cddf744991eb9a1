import { useEffect, useState } from 'preact/hooks';
import { Badge, ErrorNote } from '../components';
import { DashboardSelectionDocument, type LoadBalancingStrategy } from '../generated/graphql';
import { hostPort } from '../lib/format';
import { useQuery } from '../lib/live';

const STRATEGIES: { value: LoadBalancingStrategy; label: string }[] = [
  { value: 'ROUND_ROBIN', label: 'Round robin' },
  { value: 'WEIGHTED', label: 'Weighted' },
  { value: 'RANDOM', label: 'Random' },
  { value: 'PRIORITY', label: 'Priority' },
  { value: 'CONSISTENT_HASH', label: 'Consistent hash' },
];

/** Why a candidate was left out, in words (the schema's ExclusionReason). */
const EXCLUSIONS: Record<string, string> = {
  CIRCUIT_HALF_OPEN_BUSY: 'circuit half-open, its probe is taken',
  CIRCUIT_OPEN: 'circuit open (cooling down)',
  CRITICAL: 'a check is critical',
  DRAINED: 'weight 0 while others have weight',
  LOWER_PRIORITY_TIER: 'a more preferred priority tier is available',
  MAINTENANCE: 'in maintenance',
  TAG_MISMATCH: 'lacks a requested tag',
  TTL_EXPIRED: 'its lease lapsed',
  VERSION_MISMATCH: 'version outside the range',
  WARNING: 'a check warns',
};

const percent = (share: number | null | undefined) => (share == null ? '—' : `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`);

/**
 * "Who gets traffic and why": selectInstanceExplained for a strategy, re-read whenever the page's
 * instances change (`revision`).
 */
export function Traffic({ name, revision }: { name: string; revision: number }) {
  const [strategy, setStrategy] = useState<LoadBalancingStrategy>('ROUND_ROBIN');
  const [hashKey, setHashKey] = useState('');
  const [allowWarning, setAllowWarning] = useState(false);
  // Consistent hashing needs a key; until one is typed, explain round robin's pool instead of failing.
  const asked = strategy === 'CONSISTENT_HASH' && !hashKey ? 'ROUND_ROBIN' : strategy;
  const selection = useQuery(DashboardSelectionDocument, {
    name,
    strategy: asked,
    hashKey: asked === 'CONSISTENT_HASH' ? hashKey : null,
    allowWarning,
  });
  const { refetch } = selection;
  useEffect(() => {
    if (revision > 0) refetch();
  }, [revision, refetch]);
  const explained = selection.data?.selectInstanceExplained;

  return (
    <>
      <form class="toolbar" onSubmit={(event) => event.preventDefault()}>
        <label>
          Strategy{' '}
          <select value={strategy} onChange={(event) => setStrategy(event.currentTarget.value as LoadBalancingStrategy)}>
            {STRATEGIES.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
        {strategy === 'CONSISTENT_HASH' && (
          <label>
            Hash key <input value={hashKey} placeholder="user-42" onInput={(event) => setHashKey(event.currentTarget.value)} />
          </label>
        )}
        <label>
          <input type="checkbox" checked={allowWarning} onChange={(event) => setAllowWarning(event.currentTarget.checked)} /> Allow warning instances
        </label>
      </form>
      <ErrorNote error={selection.error} what="The selection could not be explained" />
      {explained && (
        <>
          <p class="verdict" data-testid="verdict">
            {explained.selected ? (
              <>
                Next request goes to <strong>{explained.selected.id}</strong>
                {explained.tier != null && <> (priority tier {explained.tier})</>}.
              </>
            ) : (
              <>
                <strong>No instance would get traffic</strong>
                {explained.reason ? `: ${explained.reason}` : '.'}
              </>
            )}
          </p>
          <table class="traffic">
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">In the pool</th>
                <th scope="col" class="num">
                  Share
                </th>
                <th scope="col" class="num">
                  Weight
                </th>
                <th scope="col" class="num">
                  Priority
                </th>
                <th scope="col">Circuit</th>
                <th scope="col">Why not</th>
              </tr>
            </thead>
            <tbody>
              {explained.candidates.map((candidate) => (
                <tr key={candidate.instance.id} class={explained.selected?.id === candidate.instance.id ? 'selected' : undefined}>
                  <th scope="row">
                    {candidate.instance.id} <span class="muted">{hostPort(candidate.instance.address, candidate.instance.port)}</span>
                  </th>
                  <td>{candidate.eligible ? <Badge tone="good">yes</Badge> : <Badge tone="bad">no</Badge>}</td>
                  <td class="num">{candidate.eligible ? percent(candidate.share) : '—'}</td>
                  <td class="num">{candidate.weight}</td>
                  <td class="num">{candidate.priority}</td>
                  <td>
                    <CircuitBadge state={candidate.circuit} />
                  </td>
                  <td>{candidate.exclusions.map((reason) => EXCLUSIONS[reason] ?? reason).join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

export function CircuitBadge({ state }: { state: string }) {
  const tone = state === 'CLOSED' ? 'good' : state === 'OPEN' ? 'bad' : 'warn';
  const help: Record<string, string> = {
    CLOSED: 'Calls flow; failures are counted.',
    OPEN: 'Too many reported failures: the instance gets no traffic until it cools down.',
    HALF_OPEN: 'Cooling down is over: one probe call decides whether it closes again.',
  };
  return (
    <Badge tone={tone} title={help[state]}>
      {state.toLowerCase().replace('_', '-')}
    </Badge>
  );
}
