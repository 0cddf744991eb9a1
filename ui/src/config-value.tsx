import { Badge } from './components';

/** What the dashboard may show of a configuration value: never a secret one, even to a caller the server would show it to. */
export function visibleValue(entry: { secret: boolean; redacted: boolean; value: unknown }): { shown: true; value: unknown } | { shown: false } {
  return entry.secret || entry.redacted ? { shown: false } : { shown: true, value: entry.value };
}

/** One line of JSON, cut to `characters`. */
export function oneLine(value: unknown, characters = 120): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > characters ? `${text.slice(0, characters - 1)}…` : text;
}

/** The "secret" mark that stands in for a secret value wherever one would be shown. */
export function SecretMark({ redacted }: { redacted: boolean }) {
  return (
    <Badge
      tone="warn"
      title={
        redacted
          ? 'Secret: the server withholds it from this token.'
          : 'Secret: the dashboard never shows secret values (read them with a token that may write the key, outside the browser).'
      }
    >
      secret
    </Badge>
  );
}

/** A value in a table cell: compact JSON, or the secret mark. */
export function ValueCell({ entry }: { entry: { secret: boolean; redacted: boolean; value: unknown } }) {
  const visible = visibleValue(entry);
  if (!visible.shown) return <SecretMark redacted={entry.redacted} />;
  return <code class="config-value">{oneLine(visible.value)}</code>;
}

/** Whose value answers: the environment's own, or the global one inherited by it. */
export function Origin({ entry, environment }: { entry: { environment: string | null; inherited: boolean }; environment: string | undefined }) {
  if (entry.environment === null) {
    return environment ? (
      <Badge tone="info" title={`No value of its own in ${environment}: the global value answers.`}>
        global, inherited
      </Badge>
    ) : (
      <span class="muted">global</span>
    );
  }
  return <span>{entry.environment}</span>;
}
