import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Reading the documentation as GitHub renders it: code blocks (and which are runnable), headings and
 * their anchors, links; and comparing an example's real output with the one the page shows.
 * The rules are written out in docs/development.md ("Documentation").
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The line that makes the code block right after it runnable (an HTML comment: GitHub shows nothing). */
export const RUNNABLE_MARKER = '<!-- runnable -->';
/** The line that makes the TypeScript block right after it compile, as a module of its own, against the packages. */
export const TYPECHECKED_MARKER = '<!-- typechecked -->';

/** The pages checked: README.md, docs/**, and the READMEs of packages, src and examples (repository-relative). */
export function documentationFiles(): string[] {
  const files = ['README.md', ...markdownUnder('docs')];
  for (const dir of ['packages', 'src', 'examples']) files.push(...markdownUnder(dir).filter((file) => path.posix.basename(file) === 'README.md'));
  return files;
}

function markdownUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(ROOT, relative), { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.md')) found.push(child);
    }
  };
  walk(dir);
  return found.sort();
}

export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word: sh, graphql, json, text… ('' when none). */
  lang: string;
  code: string;
  runnable: boolean;
  /** A whole TypeScript module: `tsc` must accept it as written. */
  typechecked: boolean;
  /** The next code block of the page when it is a json or text block: what this one's output should be. */
  expected?: CodeBlock;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

export interface Page {
  file: string;
  blocks: CodeBlock[];
  links: Link[];
  /** Anchors the page defines: its headings' slugs and explicit `<a id>`/`<a name>`. */
  anchors: Set<string>;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;

export function readPage(file: string): Page {
  const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  const prose: string[] = []; // the page with code blocks blanked out, line for line
  const anchors = new Set<string>();
  const headingCounts = new Map<string, number>();
  let open: { fence: string; block: CodeBlock; body: string[] } | undefined;

  lines.forEach((text, index) => {
    const fence = FENCE.exec(text);
    if (open) {
      prose.push('');
      const closes = fence && fence[1]![0] === open.fence[0] && fence[1]!.length >= open.fence.length && text.trim() === fence[1];
      if (closes) {
        open.block.code = open.body.join('\n') + '\n';
        blocks.push(open.block);
        open = undefined;
      } else open.body.push(text);
      return;
    }
    if (fence) {
      prose.push('');
      const runnable = lines[index - 1]?.trim() === RUNNABLE_MARKER;
      const typechecked = lines[index - 1]?.trim() === TYPECHECKED_MARKER;
      open = { fence: fence[1]!, block: { file, line: index + 1, lang: fence[2]!.toLowerCase(), code: '', runnable, typechecked }, body: [] };
      return;
    }
    prose.push(text);
    const heading = /^ {0,3}#{1,6}\s+(.*?)(\s+#+)?\s*$/.exec(text);
    if (heading) {
      const base = slug(heading[1]!);
      const seen = headingCounts.get(base) ?? 0;
      headingCounts.set(base, seen + 1);
      anchors.add(seen === 0 ? base : `${base}-${seen}`);
    }
    for (const match of text.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  });
  if (open) throw new Error(`${file}:${open.block.line}: a code block is never closed`);

  blocks.forEach((block, index) => {
    const next = blocks[index + 1];
    if (block.runnable && next && !next.runnable && (next.lang === 'json' || next.lang === 'text')) block.expected = next;
  });
  return { file, blocks, links: linksIn(file, prose.join('\n')), anchors };
}

/** GitHub's heading anchors: the text as rendered, lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
export function slug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '')
    .replace(/\*\*|\*/g, '');
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Inline links and images, reference definitions and HTML href/src, outside code blocks and code spans. */
function linksIn(file: string, prose: string): Link[] {
  // Code spans hold no links: blank them out, keeping line breaks so positions stay on their lines.
  const text = prose.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (span) => span.replace(/[^\n]/g, ' '));
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  const links: Link[] = [];
  const add = (target: string, offset: number) => links.push({ file, line: lineOf(offset), target });
  for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) add(match[1]!, match.index);
  for (const match of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) add(match[1]!, match.index);
  for (const match of text.matchAll(/\b(?:href|src)="([^"]+)"/g)) add(match[1]!, match.index);
  return links;
}

/** Why `link` does not resolve, or undefined when it does. External links are not fetched. */
export function brokenLink(link: Link, pageOf: (file: string) => Page): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return undefined; // http:, https:, mailto:
  const [rawPath, anchor] = splitAnchor(link.target);
  const where = `${link.file}:${link.line}: ${link.target}`;
  let target = link.file;
  if (rawPath !== '') {
    const decoded = decodeURIComponent(rawPath);
    target = decoded.startsWith('/') ? decoded.slice(1) : path.posix.join(path.posix.dirname(link.file), decoded);
    target = path.posix.normalize(target);
    if (target.startsWith('..')) return `${where}: leaves the repository`;
    if (!existsSync(path.join(ROOT, target))) return `${where}: no such file`;
    if (statSync(path.join(ROOT, target)).isDirectory()) target = path.posix.join(target, 'README.md');
  }
  if (anchor === undefined) return undefined;
  if (!target.endsWith('.md')) return undefined; // a line in a source file (#L10): GitHub's, not ours to check
  if (!existsSync(path.join(ROOT, target))) return `${where}: no README.md in that directory for the anchor`;
  const anchors = pageOf(target).anchors;
  if (!anchors.has(decodeURIComponent(anchor))) return `${where}: no heading or <a id> "${anchor}" in ${target}`;
  return undefined;
}

function splitAnchor(target: string): [string, string | undefined] {
  const hash = target.indexOf('#');
  return hash === -1 ? [target, undefined] : [target.slice(0, hash), target.slice(hash + 1)];
}

/** Several JSON values written one after another (curl prints answers without a separator). */
export function parseJsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') {
        inString = false;
        if (depth === 0) end(i);
      }
      continue;
    }
    if (/\s/.test(char)) {
      if (depth === 0 && start !== -1) end(i - 1);
      continue;
    }
    if (start === -1) start = i;
    if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) end(i);
    } else if (depth === 0 && (i + 1 === text.length || /[\s{["]/.test(text[i + 1]!))) end(i);
  }
  if (start !== -1 || depth !== 0 || inString) throw new Error(`not JSON: ${text.slice(0, 200)}`);
  return values;

  function end(at: number): void {
    values.push(JSON.parse(text.slice(start, at + 1)));
    start = -1;
  }
}

/** Keys whose values vary from run to run when they hold digit strings: event ids. */
const EVENT_ID_KEYS = new Set(['id', 'eventId', 'latestEventId']);
/**
 * Whether printed text matches what the page shows: line for line, except the rows of a table headed
 * `event` (the CLI's list of events), whose first cell is an event id that varies from run to run as
 * event ids do in JSON; those rows compare with their id as any digits and their spacing collapsed.
 */
export function textMatches(expected: string, actual: string): boolean {
  const want = expected.trim().split('\n');
  const got = actual.trim().split('\n');
  if (want.length !== got.length) return false;
  let inEvents = false;
  return want.every((line, index) => {
    const other = got[index]!;
    if (/^event\s/.test(line)) inEvents = true;
    else if (line.trim() === '') inEvents = false;
    else if (inEvents && /^\d+\s/.test(line)) {
      const row = (text: string) => text.trim().replace(/^\d+/, '#').replace(/\s+/g, ' ');
      return /^\d+\s/.test(other) && row(line) === row(other);
    }
    return line.trimEnd() === other.trimEnd();
  });
}

/** Keys whose numbers vary from run to run: Consul indexes (event ids plus one). */
const INDEX_KEYS = new Set(['CreateIndex', 'ModifyIndex']);
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
/** A key that stands for what the page trimmed from an object: `{"…":"…"}`. */
const TRIMMED = '…';

/**
 * How `actual` differs from `expected`, as the page shows it: the same keys in every object (an
 * expected object with a "…" key may have more), the same number of items in every list, and equal
 * values, except values that vary from run to run, which must only have the same form: timestamps,
 * event ids (digit strings under id, eventId, latestEventId) and Consul indexes.
 */
export function differences(expected: unknown, actual: unknown, at = '$', key = ''): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected a list, got ${show(actual)}`];
    if (actual.length !== expected.length) return [`${at}: expected ${expected.length} item(s), got ${actual.length}: ${show(actual)}`];
    return expected.flatMap((item, index) => differences(item, actual[index], `${at}[${index}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${at}: expected an object, got ${show(actual)}`];
    const wanted = expected as Record<string, unknown>;
    const got = actual as Record<string, unknown>;
    const found: string[] = [];
    for (const name of Object.keys(wanted)) {
      if (name === TRIMMED) continue;
      if (!(name in got)) found.push(`${at}.${name}: missing`);
      else found.push(...differences(wanted[name], got[name], `${at}.${name}`, name));
    }
    if (!(TRIMMED in wanted)) for (const name of Object.keys(got)) if (!(name in wanted)) found.push(`${at}.${name}: not in the page (${show(got[name])})`);
    return found;
  }
  if (typeof expected === 'string' && TIMESTAMP.test(expected)) {
    return typeof actual === 'string' && TIMESTAMP.test(actual) ? [] : [`${at}: expected a timestamp, got ${show(actual)}`];
  }
  if (typeof expected === 'string' && EVENT_ID_KEYS.has(key) && /^\d+$/.test(expected)) {
    return typeof actual === 'string' && /^\d+$/.test(actual) ? [] : [`${at}: expected an event id, got ${show(actual)}`];
  }
  if (typeof expected === 'number' && INDEX_KEYS.has(key)) {
    return typeof actual === 'number' ? [] : [`${at}: expected an index, got ${show(actual)}`];
  }
  return Object.is(expected, actual) ? [] : [`${at}: expected ${show(expected)}, got ${show(actual)}`];
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
