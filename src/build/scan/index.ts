import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { defaultComponentId, parseDependencySpec } from '@switchboard/contracts';
import { MANIFEST_VERSION, validateManifest, type Manifest, type ManifestComponent, type ManifestService } from '../manifest.js';
import { NotStatic, propertyName, readStatic } from './literal.js';
import { createScanProgram } from './program.js';
import { sdkDecorators, type DecoratorKind } from './sdk.js';

/** Something scan could not read statically, or a declaration the registry would refuse: where, and why. */
export interface ScanError {
  /** Absolute path of the source file. */
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  message: string;
}

export interface ScanOptions {
  paths: readonly string[];
  /** Where the manifest goes: source locations are written relative to its directory. */
  out: string;
  /** A tsconfig.json (default: the nearest above the first path). */
  project?: string;
  /** Called after each file is read (for a progress line). */
  onProgress?: (done: number, total: number) => void;
}

export interface ScanResult {
  manifest: Manifest;
  errors: ScanError[];
  files: number;
}

/** The manifest's `$schema`: the committed JSON Schema, relative to the manifest when it is in this repository. */
export const SCHEMA_URL = 'https://switchboard.dev/schemas/switchboard.manifest.schema.json';

const SERVICE_OPTIONS = new Set(['name', 'version', 'port', 'address', 'tags', 'metadata', 'dependsOn', 'healthCheck', 'ephemeral']);
const COMPONENT_OPTIONS = new Set(['type', 'name', 'version', 'id', 'description', 'dependencies', 'metadata', 'flows', 'provider']);

/**
 * Finds every class decorated with `@service` or `@component` from @switchboard/sdk (however it was imported:
 * renamed, through a namespace, a barrel or a `paths` alias — the checker resolves the symbol) and reads its
 * declaration without running anything. Errors are collected, not thrown: every file is read, and the caller
 * writes the manifest only when there are none.
 */
export function scan(options: ScanOptions): ScanResult {
  const { program, checker, files } = createScanProgram(options.paths, options.project);
  const decorators = sdkDecorators(program, checker, files);
  const manifestDir = path.dirname(path.resolve(options.out));
  const errors: ScanError[] = [];
  const services: ManifestService[] = [];
  const components: ManifestComponent[] = [];
  const where = (node: ts.Node) => location(node, manifestDir);
  const fail = (node: ts.Node, message: string) => errors.push({ ...position(node), message });

  files.forEach((file, index) => {
    const source = program.getSourceFile(file);
    if (source) {
      const visit = (node: ts.Node): void => {
        if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) readClass(node);
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    options.onProgress?.(index + 1, files.length);
  });

  function readClass(node: ts.ClassLikeDeclaration): void {
    for (const decorator of ts.getDecorators(node) ?? []) {
      const call = ts.isCallExpression(decorator.expression) ? decorator.expression : undefined;
      const kind = decorators.kindOf(call?.expression ?? decorator.expression);
      if (kind !== 'service' && kind !== 'component') continue;
      const className = node.name?.text;
      if (!className) {
        fail(node, `@${kind} on an anonymous class: give the class a name (start() and the generated module find it by name)`);
        continue;
      }
      if (!call || call.arguments.length !== 1) {
        fail(decorator, `@${kind} takes one object literal: @${kind}({ ... })`);
        continue;
      }
      try {
        const options = readStatic(call.arguments[0]!, checker);
        if (options === null || typeof options !== 'object' || Array.isArray(options))
          throw new NotStatic(call.arguments[0]!, `@${kind} takes an object literal`);
        const known = kind === 'service' ? SERVICE_OPTIONS : COMPONENT_OPTIONS;
        const unknown = Object.keys(options).find((key) => !known.has(key));
        if (unknown) throw new NotStatic(call.arguments[0]!, `${className}: @${kind} has no option "${unknown}"`);
        if (kind === 'service') services.push(readService(node, className, options as Record<string, unknown>));
        else components.push(readComponent(className, options as Record<string, unknown>, where(node.name!)));
      } catch (error) {
        if (!(error instanceof NotStatic)) throw error;
        fail(error.node, error.message);
      }
    }
  }

  function readService(node: ts.ClassLikeDeclaration, className: string, options: Record<string, unknown>): ManifestService {
    const dependencies = new Map<string, { service: string; range: string }>();
    const dependsOn = options['dependsOn'] ?? [];
    if (!Array.isArray(dependsOn)) throw new NotStatic(node.name!, `${className}.dependsOn must be an array of "name" or "name@range"`);
    for (const [index, spec] of dependsOn.entries()) {
      const parsed = typeof spec === 'string' ? parseDependencySpec(spec) : undefined;
      if (!parsed) throw new NotStatic(node.name!, `${className}.dependsOn[${index}]: ${JSON.stringify(spec)} is not a service name or "name@range"`);
      dependencies.set(parsed.name, { service: parsed.name, range: parsed.range });
    }
    const dependencyFields: ManifestService['dependencyFields'] = [];
    const configFields: ManifestService['configFields'] = [];
    for (const member of node.members) {
      for (const decorator of (ts.canHaveDecorators(member) ? ts.getDecorators(member) : undefined) ?? []) {
        const call = ts.isCallExpression(decorator.expression) ? decorator.expression : undefined;
        const kind: DecoratorKind | undefined = decorators.kindOf(call?.expression ?? decorator.expression);
        if (kind !== 'dependency' && kind !== 'config') continue;
        try {
          if (!ts.isPropertyDeclaration(member)) throw new NotStatic(member, `@${kind} decorates a field`);
          const field = fieldName(member);
          if (!call || call.arguments.length !== 1)
            throw new NotStatic(decorator, `@${kind} takes one string: @${kind}('${kind === 'config' ? 'some.key' : 'ledger'}')`);
          const value = readStatic(call.arguments[0]!, checker);
          if (typeof value !== 'string') throw new NotStatic(call.arguments[0]!, `@${kind} takes a string`);
          if (kind === 'dependency') {
            const parsed = parseDependencySpec(value);
            if (!parsed || parsed.range !== '*') {
              throw new NotStatic(call.arguments[0]!, `@dependency(${JSON.stringify(value)}) must name a service; put a version range in dependsOn`);
            }
            if (!dependencies.has(parsed.name)) dependencies.set(parsed.name, { service: parsed.name, range: '*' });
            dependencyFields.push({ field, service: parsed.name });
          } else {
            const entry: ManifestService['configFields'][number] = { field, key: value };
            if (member.initializer) {
              try {
                entry.default = readStatic(member.initializer, checker);
              } catch (error) {
                // A default that needs the code to run is simply not in the manifest.
                if (!(error instanceof NotStatic)) throw error;
              }
            }
            configFields.push(entry);
          }
        } catch (error) {
          if (!(error instanceof NotStatic)) throw error;
          fail(error.node, error.message);
        }
      }
    }
    const { name, version, port, address, tags, metadata, healthCheck, ephemeral } = options;
    return compact({
      name,
      version,
      port,
      address,
      tags: tags ?? [],
      metadata: metadata ?? {},
      healthCheck,
      ephemeral: ephemeral ?? false,
      dependencies: [...dependencies.values()].sort((a, b) => compare(a.service, b.service)),
      dependencyFields,
      configFields,
      className,
      source: where(node.name!),
    }) as ManifestService;
  }

  const manifest = {
    $schema: schemaReference(manifestDir),
    manifestVersion: MANIFEST_VERSION,
    project: projectName(manifestDir),
    services: services.sort((a, b) => compare(a.name, b.name) || compare(a.className, b.className)),
    components: components.sort((a, b) => compare(a.id, b.id)),
  } as Manifest;

  // The registry's own rules, reported at the declaration they concern.
  const validated = validateManifest(manifest);
  if ('problems' in validated) {
    for (const problem of validated.problems) {
      const match = /^\$\.(services|components)\[(\d+)\](.*)$/.exec(problem.path);
      const item = match ? (manifest[match[1] as 'services' | 'components'][Number(match[2])] as ManifestService | ManifestComponent) : undefined;
      const at = item?.source;
      errors.push({
        file: at ? path.resolve(manifestDir, at.file) : path.resolve(options.out),
        line: at?.line ?? 1,
        column: at?.column ?? 1,
        message: `${item?.className ?? 'manifest'}${match?.[3] || ''}: ${problem.message}`,
      });
    }
  }
  errors.sort((a, b) => compare(a.file, b.file) || a.line - b.line || a.column - b.column);
  return { manifest: 'manifest' in validated ? validated.manifest : manifest, errors, files: files.length };
}

function readComponent(className: string, options: Record<string, unknown>, source: ManifestComponent['source']): ManifestComponent {
  const { type, name, version, id, description, dependencies, metadata, flows, provider } = options;
  const defaultId = typeof name === 'string' && typeof version === 'string' ? defaultComponentId(name, version) : undefined;
  return compact({
    id: id ?? defaultId,
    type,
    name,
    version,
    description,
    dependencies: dependencies ?? [],
    metadata: metadata ?? {},
    flows: flows ?? [],
    provider,
    className,
    source,
  }) as ManifestComponent;
}

/** A field's name; a #private or computed one cannot be filled by name from the generated module. */
function fieldName(member: ts.PropertyDeclaration): string {
  if (ts.isPrivateIdentifier(member.name))
    throw new NotStatic(member.name, `${member.name.text} is #private: Switchboard fills fields by name, use a public field`);
  return propertyName(member.name);
}

function position(node: ts.Node): { file: string; line: number; column: number } {
  const source = node.getSourceFile();
  const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return { file: source.fileName, line: line + 1, column: character + 1 };
}

function location(node: ts.Node, manifestDir: string): { file: string; line: number; column: number } {
  const { file, line, column } = position(node);
  return { file: path.relative(manifestDir, file).split(path.sep).join('/'), line, column };
}

/** The package.json name nearest above the manifest: what `apply` marks its registrations with. */
export function projectName(dir: string): string | undefined {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const file = path.join(current, 'package.json');
    if (existsSync(file)) {
      const name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
      return typeof name === 'string' && name !== '' ? name : undefined;
    }
    if (path.dirname(current) === current) return undefined;
  }
}

/** The committed schema by a relative path when the manifest is inside this repository (editors resolve it offline), else its URL. */
function schemaReference(manifestDir: string): string {
  const root = switchboardRoot();
  const schema = root && path.join(root, 'schemas/switchboard.manifest.schema.json');
  const inside = root !== undefined && !path.relative(root, manifestDir).startsWith('..');
  return inside && existsSync(schema!) ? path.relative(manifestDir, schema!).split(path.sep).join('/') : SCHEMA_URL;
}

/** This package's directory (src/build/scan, dist/build/scan or a test bundle all sit somewhere below it). */
function switchboardRoot(): string | undefined {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'switchboard') return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
