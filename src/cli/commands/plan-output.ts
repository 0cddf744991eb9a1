import type { ApplyReport, Step } from '../../build/apply.js';
import { sameJson, type Plan } from '../../build/plan.js';
import { color, table } from '../output.js';

/** Human output of plan and apply: `+` added, `~` changed (each field old -> new), `-` removed, then a summary, as terraform plan prints. */

const sign = {
  add: color.green('+'),
  change: color.yellow('~'),
  remove: color.red('-'),
  keep: color.dim('='),
};

export function renderPlan(plan: Plan, where: { manifest: string; server: string }): string {
  const lines: string[] = [];
  const project = plan.project === null ? 'a manifest without a project' : `project "${plan.project}"`;
  lines.push(color.bold(`Plan for ${project} (${where.manifest}) against ${where.server}`), '');

  lines.push(color.bold('Components'));
  if (plan.components.length === 0) lines.push(`  no changes${plan.unchanged.length > 0 ? ` (${plan.unchanged.length} as declared)` : ''}`);
  for (const component of plan.components) {
    if (component.action === 'add') {
      const { type, name, version } = component.input;
      lines.push(`  ${sign.add} ${component.id}  ${type} ${name} ${version}`);
    } else if (component.action === 'change') {
      lines.push(`  ${sign.change} ${component.id}`);
      for (const change of component.changes) lines.push(`      ${change.field}: ${value(change.from)} -> ${value(change.to)}`);
    } else {
      lines.push(`  ${sign.remove} ${component.id}  ${component.type} ${component.name} ${component.version}`);
    }
  }

  if (plan.config.length > 0) {
    lines.push('', color.bold('Configuration defaults (set only where a key has no value; a live value is never overwritten)'));
    for (const entry of plan.config) {
      if (entry.action === 'set') lines.push(`  ${sign.add} ${entry.key} = ${value(entry.default)}`);
      else if (!entry.live!.redacted && sameJson(entry.live!.value, entry.default)) {
        lines.push(`  ${sign.keep} ${entry.key} = ${value(entry.default)} (version ${entry.live!.version}), the default`);
      } else {
        const current = entry.live!.redacted ? 'a secret value' : value(entry.live!.value);
        lines.push(`  ${sign.keep} ${entry.key} keeps ${current} (version ${entry.live!.version}); the default ${value(entry.default)} is not applied`);
      }
    }
  }

  if (plan.services.length > 0) {
    lines.push('', color.bold('Services (they register themselves when they start; apply changes nothing here)'));
    for (const service of plan.services) {
      const declared = service.declaredVersion === null ? 'no version declared' : `declared ${service.declaredVersion}`;
      const live =
        service.instances === 0
          ? 'no live instance'
          : `${service.instances} live instance${service.instances === 1 ? '' : 's'}${service.liveVersions.length > 0 ? ` (${service.liveVersions.join(', ')})` : ''}`;
      lines.push(`  ${service.name}  ${declared}, ${live}`);
    }
  }

  if (plan.notes.length > 0) {
    lines.push('', color.bold('Notes'));
    for (const note of plan.notes) lines.push(`  ${note}`);
  }

  lines.push('', summaryLine(plan));
  return lines.join('\n');
}

function summaryLine(plan: Plan): string {
  const { add, change, remove, configDefaults } = plan.summary;
  if (add + change + remove + configDefaults === 0) return color.green('No changes: the registry matches the manifest.');
  const parts = [`${add} to add`, `${change} to change`, `${remove} to remove`, `${configDefaults} config default${configDefaults === 1 ? '' : 's'} to set`];
  return `${color.bold('Plan:')} ${parts.join(', ')}.`;
}

export function renderApplyReport(report: ApplyReport): string {
  const total = report.applied.length + report.notApplied.length + report.unknown.length;
  const lines: string[] = [];
  if (!report.refusal) {
    lines.push(color.green(`Applied ${total} change${total === 1 ? '' : 's'}.`));
  } else {
    const outcome = report.refusal.outcome ? ` (outcome: ${report.refusal.outcome})` : '';
    lines.push(color.red(`Stopped: ${report.refusal.code}${outcome}: ${report.refusal.message}`));
    lines.push('', color.bold(`Applied (${report.applied.length} of ${total}):`));
    for (const step of report.applied) lines.push(`  ${stepLine(step)}`);
    if (report.applied.length === 0) lines.push('  nothing');
    if (report.notApplied.length > 0) {
      lines.push('', color.bold(`Not applied (${report.notApplied.length}):`));
      for (const step of report.notApplied) lines.push(`  ${stepLine(step)}${step === report.refusal.step ? color.red('  (refused)') : ''}`);
    }
    if (report.unknown.length > 0) {
      lines.push('', color.bold(`Unknown (${report.unknown.length}): sent, but whether it was written is not known; run plan to see what the registry has:`));
      for (const step of report.unknown) lines.push(`  ${stepLine(step)}`);
    }
  }
  lines.push('');
  if (report.eventsError !== undefined) lines.push(`The events could not be read: ${report.eventsError}`);
  else if (report.events.length === 0) lines.push('No events.');
  else
    lines.push(
      table(
        ['event', 'type', 'subject'],
        report.events.map((event) => [event.id, event.type, event.subject]),
      ),
    );
  return lines.join('\n');
}

function stepLine(step: Step): string {
  switch (step.kind) {
    case 'register':
      return `${step.action === 'add' ? sign.add : sign.change} component ${step.id}`;
    case 'unregister':
      return `${sign.remove} component ${step.id}`;
    case 'setDefault':
      return `${sign.add} config ${step.key} = ${value(step.value)}`;
  }
}

/** A value as JSON on one line, cut short when long. */
function value(item: unknown): string {
  const text = JSON.stringify(item ?? null);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
