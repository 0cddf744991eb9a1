import { useState } from 'preact/hooks';
import { Badge, Empty, ErrorNote, Section } from '../components';
import {
  DashboardAlertsPageDocument,
  DashboardCreateAlertRuleDocument,
  DashboardCreateSilenceDocument,
  DashboardDeleteAlertRuleDocument,
  DashboardExpireSilenceDocument,
  DashboardOnEventsDocument,
  type AlertRuleInput,
  type AlertRuleKind,
  type DashboardAlertsPageQuery,
  type ServiceState,
} from '../generated/graphql';
import { describeRule, FIELD_LABELS, RULE_KINDS, type RuleField } from '../lib/alert-rules';
import { isUnauthenticated, useConnection } from '../lib/connection';
import { ago, dateTime } from '../lib/format';
import { useQuery, useSubscription, useWakeAt } from '../lib/live';
import { definePage } from '../lib/router';
import { useSnapshotPosition } from '../lib/snapshot';
import './alerts.css';

type Alert = DashboardAlertsPageQuery['alerts'][number];
type Rule = DashboardAlertsPageQuery['alertRules'][number];
type Silence = DashboardAlertsPageQuery['silences'][number];

/** How many resolved alerts the page lists (the most recently resolved). */
const RESOLVED_SHOWN = 20;

/** A mutation run from a button or form: busy while it runs, its error kept for the page. */
function useAction() {
  const connection = useConnection();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (failure) {
      if (isUnauthenticated(failure)) connection.unauthenticated(failure);
      setError(failure);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { client: connection.client, busy, error, run };
}

function Alerts() {
  const page = useQuery(DashboardAlertsPageDocument, {});
  const after = useSnapshotPosition('alerts', page.data?.latestEventId);
  // alert.* covers firing and resolving alerts, rule changes and silences, from any server or client.
  const liveError = useSubscription(DashboardOnEventsDocument, after === undefined ? undefined : { types: ['alert.*'], after }, () => page.refetch());
  // Webhook retries append no event: read again just after the next pending attempt is due.
  const nextAttempt = page.data?.alerts
    .flatMap((alert) => alert.deliveries)
    .filter((delivery) => delivery.status === 'PENDING')
    .map((delivery) => Date.parse(delivery.nextAttemptAt) + 1_000)
    .reduce<number | undefined>((earliest, at) => (earliest === undefined || at < earliest ? at : earliest), undefined);
  useWakeAt(nextAttempt, () => page.refetch());

  const data = page.data;
  const rulesById = new Map((data?.alertRules ?? []).map((rule) => [rule.id, rule]));
  return (
    <>
      <h1>Alerts</h1>
      <ErrorNote error={page.error} what="Alerts could not be read" />
      <ErrorNote error={liveError} what="Live updates stopped" />
      {data && (
        <>
          <AlertList alerts={data.alerts} />
          <Section title={`Rules (${data.alertRules.length})`}>
            {data.alertRules.length === 0 && <Empty>No alert rule yet: create one below.</Empty>}
            {data.alertRules.length > 0 && <RuleTable rules={data.alertRules} onChanged={page.refetch} />}
            <RuleForm onCreated={page.refetch} />
          </Section>
          <Section title={`Silences (${data.silences.length} active)`}>
            {data.silences.length === 0 && <Empty>No silence is in force.</Empty>}
            {data.silences.length > 0 && <SilenceTable silences={data.silences} rulesById={rulesById} onChanged={page.refetch} />}
            {data.alertRules.length > 0 && <SilenceForm rules={data.alertRules} onCreated={page.refetch} />}
          </Section>
        </>
      )}
    </>
  );
}

const STATE_ORDER: Record<string, number> = { FIRING: 0, PENDING: 1, RESOLVED: 2 };

function AlertList({ alerts }: { alerts: Alert[] }) {
  const open = alerts.filter((alert) => alert.state !== 'RESOLVED');
  const resolved = alerts
    .filter((alert) => alert.state === 'RESOLVED')
    .sort((a, b) => Date.parse(b.endsAt ?? '') - Date.parse(a.endsAt ?? ''))
    .slice(0, RESOLVED_SHOWN);
  const shown = [...open.sort((a, b) => STATE_ORDER[a.state]! - STATE_ORDER[b.state]!), ...resolved];
  const firing = open.filter((alert) => alert.state === 'FIRING').length;
  return (
    <Section title={`Alerts (${firing} firing)`}>
      {shown.length === 0 && <Empty>No alert has fired yet.</Empty>}
      {shown.length > 0 && (
        <table class="alert-table">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">State</th>
              <th scope="col">Since</th>
              <th scope="col">Webhook deliveries</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((alert) => (
              <AlertRow key={alert.id} alert={alert} />
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

const STATE_TONE: Record<string, string> = { FIRING: 'bad', PENDING: 'warn', RESOLVED: 'good' };

function AlertRow({ alert }: { alert: Alert }) {
  const name = alert.rule?.name ?? alert.id;
  const since = alert.state === 'RESOLVED' ? alert.endsAt : alert.state === 'PENDING' ? alert.activeSince : alert.startsAt;
  const summary = (alert.annotations as Record<string, unknown> | null)?.['summary'];
  const labels = Object.entries((alert.labels ?? {}) as Record<string, unknown>).filter(([label]) => label !== 'alertname');
  return (
    <tr data-alert={name} data-state={alert.state}>
      <th scope="row">
        <strong>{name}</strong>
        {typeof summary === 'string' && <div>{summary}</div>}
        {labels.length > 0 && <div class="muted small mono">{labels.map(([label, value]) => `${label}=${String(value)}`).join(' ')}</div>}
      </th>
      <td>
        <Badge tone={STATE_TONE[alert.state] ?? 'neutral'}>{alert.state.toLowerCase()}</Badge>
        {alert.silenced && (
          <>
            {' '}
            <Badge tone="neutral" title="A silence covers it: its transitions send no webhook">
              silenced
            </Badge>
          </>
        )}
      </td>
      <td>
        <time dateTime={since ?? undefined} title={dateTime(since)}>
          {alert.state === 'RESOLVED' ? 'resolved ' : ''}
          {ago(since)}
        </time>
      </td>
      <td>
        {alert.deliveries.length === 0 ? (
          <span class="muted">none</span>
        ) : (
          <ul class="deliveries">
            {alert.deliveries.map((delivery) => (
              <li key={delivery.id} data-delivery={delivery.status}>
                <Badge tone={delivery.status === 'DELIVERED' ? 'good' : delivery.status === 'FAILED' ? 'bad' : 'warn'}>{delivery.status.toLowerCase()}</Badge>{' '}
                {delivery.alertStatus} to <span title={delivery.url}>{delivery.receiver}</span>, {delivery.attempts} attempt{delivery.attempts === 1 ? '' : 's'}
                {delivery.lastStatusCode !== null && delivery.lastStatusCode !== undefined && <>, HTTP {delivery.lastStatusCode}</>}
                {delivery.status === 'PENDING' && (
                  <>
                    , next <time dateTime={delivery.nextAttemptAt}>{dateTime(delivery.nextAttemptAt)}</time>
                  </>
                )}
                {delivery.lastError && <div class="muted small">{delivery.lastError}</div>}
              </li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}

function RuleTable({ rules, onChanged }: { rules: Rule[]; onChanged: () => void }) {
  return (
    <table class="rule-table">
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Condition</th>
          <th scope="col">Receivers</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rules.map((rule) => (
          <RuleRow key={rule.id} rule={rule} onChanged={onChanged} />
        ))}
      </tbody>
    </table>
  );
}

function RuleRow({ rule, onChanged }: { rule: Rule; onChanged: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const remove = async () => {
    if (await action.run(() => action.client.request(DashboardDeleteAlertRuleDocument, { id: rule.id }))) onChanged();
  };
  return (
    <tr data-rule={rule.name}>
      <th scope="row">
        <strong>{rule.name}</strong>
        <div class="muted small mono">{rule.kind}</div>
      </th>
      <td>{describeRule(rule)}</td>
      <td>
        {rule.receivers.length === 0 && <span class="muted">none</span>}
        {rule.receivers.map((receiver) => (
          <div key={receiver.name}>
            {receiver.name}: <span class="mono small">{receiver.url}</span>
            {receiver.hasSecret && <span class="muted small"> (signed)</span>}
          </div>
        ))}
      </td>
      <td class="row-actions">
        {!confirming && (
          <button type="button" class="quiet" onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
        {confirming && (
          <div role="group" aria-label={`Delete ${rule.name}?`}>
            <span class="small">Delete this rule, its alerts and silences?</span>{' '}
            <button type="button" disabled={action.busy} onClick={() => void remove()}>
              Delete rule
            </button>{' '}
            <button type="button" class="quiet" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        )}
        <ErrorNote error={action.error} what="Not deleted" />
      </td>
    </tr>
  );
}

type Draft = Record<RuleField | 'name' | 'receiverUrl' | 'receiverSecret', string>;
const EMPTY_DRAFT: Draft = {
  name: '',
  service: '',
  minPassing: '',
  transitions: '',
  window: '',
  for: '',
  keyPrefix: '',
  environment: '',
  eventType: '',
  hold: '',
  states: '',
  receiverUrl: '',
  receiverSecret: '',
};

/** The form's fields as the mutation's input: blanks left out, so the server applies its defaults. */
function ruleInput(kind: AlertRuleKind, draft: Draft): AlertRuleInput {
  const fields = RULE_KINDS.find((entry) => entry.kind === kind)!.fields;
  const input: AlertRuleInput = { name: draft.name.trim(), kind };
  for (const field of fields) {
    const value = draft[field].trim();
    if (value === '') continue;
    if (field === 'minPassing' || field === 'transitions') input[field] = Number(value);
    else if (field === 'states')
      input.states = value
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((state) => state.toUpperCase() as ServiceState);
    else input[field] = value;
  }
  const url = draft.receiverUrl.trim();
  if (url !== '') input.receivers = [{ url, ...(draft.receiverSecret !== '' ? { secret: draft.receiverSecret } : {}) }];
  return input;
}

function RuleForm({ onCreated }: { onCreated: () => void }) {
  const [kind, setKind] = useState<AlertRuleKind>('NO_PASSING');
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);
  const [created, setCreated] = useState<string | undefined>(undefined);
  const action = useAction();
  const fields = RULE_KINDS.find((entry) => entry.kind === kind)!.fields;
  const set = (field: keyof Draft) => (event: { currentTarget: HTMLInputElement }) => setDraft({ ...draft, [field]: event.currentTarget.value });

  const submit = async () => {
    setCreated(undefined);
    let name = '';
    const ok = await action.run(async () => {
      name = (await action.client.request(DashboardCreateAlertRuleDocument, { input: ruleInput(kind, draft) })).createAlertRule.name;
    });
    if (ok) {
      setDraft(EMPTY_DRAFT);
      setCreated(`Rule ${name} created.`);
      onCreated();
    }
  };

  return (
    <form
      class="alert-form"
      aria-label="New alert rule"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h3>New rule</h3>
      <div class="inline-form">
        <label>
          Name
          <input name="name" required value={draft.name} onInput={set('name')} placeholder="payments down" autocomplete="off" />
        </label>
        <label>
          Kind
          <select name="kind" value={kind} onChange={(event) => setKind(event.currentTarget.value as AlertRuleKind)}>
            {RULE_KINDS.map((entry) => (
              <option key={entry.kind} value={entry.kind}>
                {entry.label}
              </option>
            ))}
          </select>
        </label>
        {fields.map((field) => (
          <label key={field}>
            {FIELD_LABELS[field].label}
            <input name={field} value={draft[field]} onInput={set(field)} placeholder={FIELD_LABELS[field].placeholder} autocomplete="off" />
          </label>
        ))}
      </div>
      <div class="inline-form">
        <label>
          Webhook URL (optional)
          <input
            name="receiverUrl"
            type="url"
            value={draft.receiverUrl}
            onInput={set('receiverUrl')}
            placeholder="https://hooks.example/alerts"
            autocomplete="off"
          />
        </label>
        <label>
          Signing secret (optional, 16+ characters)
          <input name="receiverSecret" type="password" value={draft.receiverSecret} onInput={set('receiverSecret')} autocomplete="new-password" />
        </label>
        <button type="submit" disabled={action.busy}>
          {action.busy ? 'Creating…' : 'Create rule'}
        </button>
      </div>
      <ErrorNote error={action.error} what="Not created" />
      {created && (
        <p class="note success" role="status">
          {created}
        </p>
      )}
    </form>
  );
}

function SilenceTable({ silences, rulesById, onChanged }: { silences: Silence[]; rulesById: Map<string, Rule>; onChanged: () => void }) {
  return (
    <table class="silence-table">
      <thead>
        <tr>
          <th scope="col">Silences</th>
          <th scope="col">Comment</th>
          <th scope="col">Until</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {silences.map((silence) => (
          <SilenceRow key={silence.id} silence={silence} rule={silence.ruleId ? rulesById.get(silence.ruleId) : undefined} onChanged={onChanged} />
        ))}
      </tbody>
    </table>
  );
}

function SilenceRow({ silence, rule, onChanged }: { silence: Silence; rule: Rule | undefined; onChanged: () => void }) {
  const action = useAction();
  const matchers = Object.entries((silence.matchers ?? {}) as Record<string, unknown>);
  const expire = async () => {
    if (await action.run(() => action.client.request(DashboardExpireSilenceDocument, { id: silence.id }))) onChanged();
  };
  return (
    <tr data-silence={rule?.name ?? silence.id}>
      <th scope="row">
        {rule ? rule.name : silence.ruleId ? 'a deleted rule' : 'every rule'}
        {matchers.length > 0 && <div class="muted small mono">{matchers.map(([label, value]) => `${label}=${String(value)}`).join(' ')}</div>}
      </th>
      <td>
        {silence.comment}
        {silence.createdBy && <div class="muted small">by {silence.createdBy}</div>}
      </td>
      <td>
        <time dateTime={silence.endsAt}>{dateTime(silence.endsAt)}</time>
      </td>
      <td class="row-actions">
        <button type="button" class="quiet" disabled={action.busy} onClick={() => void expire()}>
          Expire
        </button>
        <ErrorNote error={action.error} what="Not expired" />
      </td>
    </tr>
  );
}

function SilenceForm({ rules, onCreated }: { rules: Rule[]; onCreated: () => void }) {
  const [ruleId, setRuleId] = useState(rules[0]!.id);
  const [duration, setDuration] = useState('1h');
  const [comment, setComment] = useState('');
  const action = useAction();
  // The chosen rule may have been deleted meanwhile: fall back to the first one.
  const chosen = rules.some((rule) => rule.id === ruleId) ? ruleId : rules[0]!.id;
  const submit = async () => {
    if (await action.run(() => action.client.request(DashboardCreateSilenceDocument, { input: { ruleId: chosen, duration: duration.trim(), comment } }))) {
      setComment('');
      onCreated();
    }
  };
  return (
    <form
      class="alert-form"
      aria-label="New silence"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h3>Silence a rule</h3>
      <div class="inline-form">
        <label>
          Rule
          <select name="silenceRule" value={chosen} onChange={(event) => setRuleId(event.currentTarget.value)}>
            {rules.map((rule) => (
              <option key={rule.id} value={rule.id}>
                {rule.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          For
          <input
            name="silenceDuration"
            required
            value={duration}
            onInput={(event) => setDuration(event.currentTarget.value)}
            placeholder="1h"
            autocomplete="off"
          />
        </label>
        <label>
          Comment
          <input
            name="silenceComment"
            required
            value={comment}
            onInput={(event) => setComment(event.currentTarget.value)}
            placeholder="deploying a fix"
            autocomplete="off"
          />
        </label>
        <button type="submit" disabled={action.busy}>
          Silence
        </button>
      </div>
      <ErrorNote error={action.error} what="Not silenced" />
    </form>
  );
}

export const alertsPage = definePage({ path: '/alerts', title: 'Alerts', nav: { label: 'Alerts', order: 70 }, component: Alerts });
