/**
 * The one check of whether a text can be stored and shown faithfully. PostgreSQL rejects
 * NUL characters in text and jsonb, and silently replaces unpaired UTF-16 surrogates;
 * control characters are legal but make names and labels lie on a terminal. Each caller
 * picks which control characters its field may hold and words the message itself.
 */

/** Why a text cannot be taken as it is, in the order `textFaults` reports them. */
export type TextFault = 'nul' | 'invalid-unicode' | 'control';

/**
 * Which characters besides NUL (never allowed) a text may not hold:
 * - `any`: every other character is fine (free text, JSON strings);
 * - `none`: no C0 control character and no DEL (names, tags, headers);
 * - `line-breaks`: like `none`, but tab, line feed and carriage return stay (descriptions);
 * - `printable`: no control, format, private-use or unassigned character, no line or paragraph
 *   separator (display names: invisible bidi overrides or zero-width spaces would let one name
 *   pass for another). ZWNJ/ZWJ stay: scripts need them.
 */
export type ControlCharacters = 'any' | 'none' | 'line-breaks' | 'printable';

// NUL is left out here: it has a fault of its own.
const FORBIDDEN: Record<Exclude<ControlCharacters, 'any'>, RegExp> = {
  // eslint-disable-next-line no-control-regex
  none: /[\u0001-\u001f\u007f]/,
  // eslint-disable-next-line no-control-regex
  'line-breaks': /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/,
  // eslint-disable-next-line no-control-regex -- NUL and the joiners are excluded from the class on purpose
  printable: /(?![\u0000\u200c\u200d])[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u,
};

/** Every fault of a text (empty: it is fine), NUL first, then invalid Unicode, then other control characters. */
export function textFaults(text: string, controls: ControlCharacters = 'any'): TextFault[] {
  const faults: TextFault[] = [];
  if (text.includes('\u0000')) faults.push('nul');
  if (!text.isWellFormed()) faults.push('invalid-unicode');
  if (controls !== 'any' && FORBIDDEN[controls].test(text)) faults.push('control');
  return faults;
}

/** A fault as a noun phrase: "a NUL character", "invalid Unicode (an unpaired surrogate)"… */
export function describeTextFault(fault: TextFault): string {
  switch (fault) {
    case 'nul':
      return 'a NUL character';
    case 'invalid-unicode':
      return 'invalid Unicode (an unpaired surrogate)';
    case 'control':
      return 'a control character';
  }
}

/**
 * A caller's text as an error message quotes it: cut to `max` characters and JSON-quoted, so a control
 * character or an escape sequence in the input is shown escaped ("\u001b[31m"), never sent raw to a
 * terminal or a log.
 */
export function quoteInput(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
