import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The TypeScript program a scan reads: the files under the given paths as its roots, with the compiler options
 * of a tsconfig (given with --project, else the nearest one above the first path) so `paths` aliases, module
 * resolution and decorators resolve as the project's own build does. Nothing is emitted or run.
 */
export interface ScanProgram {
  program: ts.Program;
  checker: ts.TypeChecker;
  /** The scanned files (the roots), sorted. */
  files: string[];
  tsconfig: string | undefined;
}

const SOURCE = /\.(ts|tsx|mts|cts)$/;
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', 'coverage']);

/** Every TypeScript source under `paths` (files as given; directories walked, skipping node_modules, dist and dot-directories). */
export function sourceFiles(paths: readonly string[]): string[] {
  const found = new Set<string>();
  const walk = (entry: string) => {
    const stats = statSync(entry, { throwIfNoEntry: false });
    if (!stats) throw new Error(`${entry}: no such file or directory`);
    if (stats.isFile()) {
      if (SOURCE.test(entry) && !entry.endsWith('.d.ts')) found.add(path.resolve(entry));
      return;
    }
    for (const child of readdirSync(entry, { withFileTypes: true })) {
      if (child.isDirectory() && (child.name.startsWith('.') || SKIPPED_DIRECTORIES.has(child.name))) continue;
      const next = path.join(entry, child.name);
      if (child.isDirectory()) walk(next);
      else if (child.isFile() && SOURCE.test(child.name) && !child.name.endsWith('.d.ts')) found.add(path.resolve(next));
    }
  };
  for (const entry of paths) walk(entry);
  return [...found].sort();
}

export function createScanProgram(paths: readonly string[], project?: string): ScanProgram {
  const files = sourceFiles(paths);
  const tsconfig = project ? path.resolve(project) : findTsconfig(paths[0] ?? '.');
  let options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
  if (tsconfig) {
    const read = ts.readConfigFile(tsconfig, ts.sys.readFile);
    if (read.error) throw new Error(`${tsconfig}: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(tsconfig), undefined, tsconfig);
    options = parsed.options;
  }
  // Only symbols are needed, never types: no emit, and neither the standard library nor ambient @types are loaded.
  const program = ts.createProgram({
    rootNames: files,
    options: { ...options, noEmit: true, skipLibCheck: true, incremental: false, composite: false, noLib: true, types: [] },
  });
  return { program, checker: program.getTypeChecker(), files, tsconfig };
}

function findTsconfig(from: string): string | undefined {
  const start = statSync(from, { throwIfNoEntry: false })?.isDirectory() ? from : path.dirname(from);
  return ts.findConfigFile(path.resolve(start), ts.sys.fileExists);
}
