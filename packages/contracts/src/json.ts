import { describeTextFault, textFaults } from './text.js';

/**
 * Visits a JSON-like value depth-first in document order: each value (with its depth, the
 * root at 0), and each object key just before its value. Iterative, not recursive, so a
 * deeply nested value cannot overflow the stack. Stops at, and returns, the first answer
 * `visit` gives; does not descend into a value `visit` answered for.
 */
export function findInJson<T>(root: unknown, visit: (item: unknown, depth: number, isKey: boolean) => T | undefined): T | undefined {
  const stack: { item: unknown; depth: number; isKey: boolean }[] = [{ item: root, depth: 0, isKey: false }];
  while (stack.length > 0) {
    const { item, depth, isKey } = stack.pop()!;
    const found = visit(item, depth, isKey);
    if (found !== undefined) return found;
    if (isKey || item === null || typeof item !== 'object') continue;
    // Pushed last to first, so they pop in document order.
    if (Array.isArray(item)) {
      for (let index = item.length - 1; index >= 0; index--) stack.push({ item: item[index], depth: depth + 1, isKey: false });
    } else {
      const entries = Object.entries(item);
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, value] = entries[index]!;
        stack.push({ item: value, depth: depth + 1, isKey: false }, { item: key, depth: depth + 1, isKey: true });
      }
    }
  }
  return undefined;
}

export interface JsonLimits {
  maxBytes: number;
  maxDepth: number;
}

/**
 * Checks a free-form JSON value before it reaches a jsonb column: bounded size and
 * nesting, and only strings PostgreSQL accepts (jsonb rejects NUL characters and
 * unpaired surrogates; letting them through would turn bad input into a 500).
 * Returns a problem description, or undefined when the value is fine.
 */
export function jsonProblem(value: unknown, limits: JsonLimits): string | undefined {
  const problem = findInJson(value, (item, depth, isKey) => (isKey ? stringProblem(item as string) : itemProblem(item, depth, limits.maxDepth)));
  if (problem) return problem;
  const bytes = utf8Length(JSON.stringify(value) ?? '');
  if (bytes > limits.maxBytes) return `is ${bytes} bytes of JSON; the limit is ${limits.maxBytes}`;
  return undefined;
}

function itemProblem(item: unknown, depth: number, maxDepth: number): string | undefined {
  if (depth > maxDepth) return `nests deeper than ${maxDepth} levels`;
  if (typeof item === 'string') return stringProblem(item);
  if (typeof item === 'number') return Number.isFinite(item) ? undefined : 'contains a non-finite number';
  if (item === null || typeof item === 'boolean' || typeof item === 'object') return undefined;
  return `contains a value of type ${typeof item}, which JSON cannot hold`;
}

function stringProblem(text: string): string | undefined {
  const [fault] = textFaults(text);
  return fault && `contains ${describeTextFault(fault)}`;
}

/**
 * The length of a text in UTF-8 bytes (an unpaired surrogate counts as the 3 bytes of the
 * replacement character it would be encoded as). Counted here because neither Buffer nor
 * TextEncoder is part of the language: this package runs wherever JavaScript does.
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(index + 1))) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
