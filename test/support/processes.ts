import { readdirSync, readFileSync } from 'node:fs';

/** Processes whose parent is `parent` (read from /proc: Linux only). */
export function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fields after the command (which may hold spaces) start after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parentPid === parent) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/** Children, their children, and so on. */
export function descendantsOf(root: number): number[] {
  const found: number[] = [];
  for (let next = childrenOf(root); next.length > 0; next = next.flatMap(childrenOf)) found.push(...next);
  return found;
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/status`, 'utf8').includes('State:\tZ');
  } catch {
    return false;
  }
}
