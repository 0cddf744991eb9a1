/**
 * Kubernetes label and field selectors, as the API server parses them (apimachinery's labels.Parse and
 * fields.ParseSelector), for the API stand-in. A selector it cannot parse throws SelectorError, which the
 * stand-in answers with 400 BadRequest as the real server does.
 */

export class SelectorError extends Error {}

type Labels = Record<string, string> | undefined;
export type Matcher = (object: KubeObject) => boolean;

export interface KubeObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** `app=x,tier!=db,env in (a,b),!legacy,zone`: every term must hold. */
export function labelSelector(text: string | null): Matcher {
  const terms = splitTopLevel(text ?? '').map(labelTerm);
  return (object) => terms.every((term) => term(object.metadata.labels));
}

/** `status.phase=Running,metadata.name!=x`, over the fields the resource supports (others are refused). */
export function fieldSelector(text: string | null, supported: readonly string[]): Matcher {
  const terms = splitTopLevel(text ?? '').map((term) => {
    const match = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!match) throw new SelectorError(`invalid field selector: "${term}"`);
    const [, field, operator, value] = match as unknown as [string, string, string, string];
    if (!supported.includes(field)) throw new SelectorError(`field label not supported: ${field}`);
    return (object: KubeObject) => (fieldValue(object, field) === value) === (operator !== '!=');
  });
  return (object) => terms.every((term) => term(object));
}

function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object;
  for (const part of path.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value === undefined || value === null ? '' : String(value);
}

function labelTerm(term: string): (labels: Labels) => boolean {
  let match = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (match) {
    const [, key, operator, list] = match as unknown as [string, string, string, string];
    const values = list.split(',').map((value) => value.trim());
    return operator === 'in' ? (labels) => values.includes(labels?.[key] ?? '\0') : (labels) => !values.includes(labels?.[key] ?? '\0');
  }
  match = /^(!?)\s*([\w./-]+)$/.exec(term);
  if (match) {
    const [, not, key] = match as unknown as [string, string, string];
    return (labels) => (labels?.[key] !== undefined) !== (not === '!');
  }
  match = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
  if (match) {
    const [, key, operator, value] = match as unknown as [string, string, string, string];
    return operator === '!=' ? (labels) => labels?.[key] !== value : (labels) => labels?.[key] === value;
  }
  throw new SelectorError(`unable to parse requirement: "${term}"`);
}

/** Splits on the commas outside parentheses (`a in (x,y),b` is two terms). */
function splitTopLevel(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += char;
  }
  terms.push(current);
  return terms.map((term) => term.trim()).filter((term) => term !== '');
}
