import Table from 'cli-table3';
import colors from 'picocolors';

/**
 * Human output: tables and colour on a terminal, plain text in a pipe. picocolors already honours
 * NO_COLOR, FORCE_COLOR and a stdout that is not a TTY; tables drop their borders off a terminal so
 * `grep` and `awk` see one row per line.
 */
export const color = colors;

export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const tty = process.stdout.isTTY === true;
  const plain = {
    top: '',
    'top-mid': '',
    'top-left': '',
    'top-right': '',
    bottom: '',
    'bottom-mid': '',
    'bottom-left': '',
    'bottom-right': '',
    left: '',
    'left-mid': '',
    mid: '',
    'mid-mid': '',
    right: '',
    'right-mid': '',
    middle: '  ',
  };
  const output = new Table({
    head: head.map((title) => color.bold(title)),
    style: { head: [], border: [], 'padding-left': tty ? 1 : 0, 'padding-right': tty ? 1 : 0, compact: !tty },
    ...(tty ? {} : { chars: plain }),
  });
  for (const row of rows) output.push(row.map((cell) => (cell === undefined || cell === null ? '' : String(cell))));
  // Off a terminal, cli-table3 still pads the last column; trailing spaces only get in a script's way.
  return output
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** Writes a line to stdout. */
export function print(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** Writes a value as JSON on stdout, one document (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A status word coloured by what it means. */
export function status(word: string): string {
  const upper = word.toUpperCase();
  if (['PASSING', 'ACTIVE', 'CLOSED', 'OK', 'RESOLVED'].includes(upper)) return color.green(word);
  if (['WARNING', 'SCALING', 'HALF_OPEN', 'HEALING', 'MAINTENANCE', 'PENDING'].includes(upper)) return color.yellow(word);
  if (['CRITICAL', 'DOWN', 'OPEN', 'FIRING', 'FAILED'].includes(upper)) return color.red(word);
  return word;
}

/**
 * Progress on long work (a scan of a large tree, an apply), on stderr and only on a terminal, so it never
 * mixes with output a script reads.
 */
export function progress(label: string): { update(done: number, total?: number): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 80 && done !== total) return;
      last = now;
      process.stderr.write(`\r${label} ${done}${total === undefined ? '' : `/${total}`}`);
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}
