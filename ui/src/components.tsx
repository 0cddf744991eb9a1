import type { ComponentChildren } from 'preact';
import type { ServiceState } from './generated/graphql';
import { describeError } from './lib/connection';
import { STATE_BY_NAME } from './lib/states';

const HEALTH_HELP: Record<string, string> = {
  PASSING: 'Every check passes.',
  WARNING: 'A check warns (HTTP 429, script exit 1); discovery still returns it.',
  CRITICAL: 'A check failed: discovery with passingOnly leaves it out.',
  UNKNOWN: 'No check has run yet.',
};

/** A health status as a coloured word (the colour is never the only signal). */
export function HealthBadge({ status }: { status: string | null | undefined }) {
  const value = status ?? 'NONE';
  return (
    <span class={`badge health-${value.toLowerCase()}`} title={HEALTH_HELP[value] ?? ''}>
      {value.toLowerCase()}
    </span>
  );
}

export function Badge({ tone, children, title }: { tone: string; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge tone-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function ErrorNote({ error, what }: { error: unknown; what: string }) {
  if (error === undefined) return null;
  return (
    <p class="note error" role="alert">
      {what}: {describeError(error)}
    </p>
  );
}

export function Section({ title, children, actions, id }: { title: string; children: ComponentChildren; actions?: ComponentChildren; id?: string }) {
  const headingId = id ?? `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section class="panel" aria-labelledby={headingId}>
      <header class="panel-header">
        <h2 id={headingId}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** A service state as a coloured word, its definition on hover. */
export function StateBadge({ state }: { state: ServiceState }) {
  const entry = STATE_BY_NAME.get(state);
  return (
    <span class={`badge tone-${entry?.tone ?? 'neutral'}`} title={entry?.definition}>
      {entry?.label ?? state}
    </span>
  );
}
