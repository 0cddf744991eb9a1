import { declare, type FieldEntry, type ServiceDeclaration, type ServiceOptions } from './declaration.js';

/**
 * TC39 standard decorators (TypeScript 5.2+, no `experimentalDecorators`). Field decorators record themselves
 * in the class's decorator metadata; `@service`, which runs after them, validates the whole declaration, so a
 * misuse fails when the class is defined, naming the class and the field.
 */

// Node has no Symbol.metadata yet: without it TypeScript's emitted code gives decorators no `context.metadata`.
// Symbol.for('Symbol.metadata') is the symbol esbuild (tsx, Vite) falls back to, so both compilers agree.
(Symbol as { metadata?: symbol }).metadata ??= Symbol.for('Symbol.metadata');

const FIELDS = Symbol('switchboard.fields');
const declarations = new WeakMap<object, ServiceDeclaration>();

type Metadata = Record<PropertyKey, unknown> & { [FIELDS]?: FieldEntry[] };

/** Declares a class a Switchboard service; see `start`. */
export function service(options: ServiceOptions) {
  return <Class extends abstract new (...args: never[]) => unknown>(value: Class, context: ClassDecoratorContext<Class>): void => {
    const className = context.name ?? value.name ?? '(anonymous class)';
    declarations.set(value, declare(className, options, fieldsOf(metadataOf(context, className))));
  };
}

/** Injects a client of the named service (declare a version range in `@service({ dependsOn })`). */
export function dependency(service: string) {
  return fieldDecorator((field, set) => ({ kind: 'dependency', service, field, set }));
}

/** Injects a configuration value, kept current as it changes; the field's initialiser is the default. */
export function config(key: string) {
  return fieldDecorator((field, set) => ({ kind: 'config', key, field, set }));
}

/** The validated declaration of a `@service` class. */
export function describeService(target: abstract new (...args: never[]) => unknown): ServiceDeclaration {
  const declaration = declarations.get(target);
  if (!declaration) throw new Error(`${target.name || 'This class'} is not a service: decorate it with @service({ name, port, ... }).`);
  return declaration;
}

function fieldDecorator(entry: (field: string, set: FieldEntry['set']) => FieldEntry) {
  return <This, Value>(_value: undefined, context: ClassFieldDecoratorContext<This, Value>): void => {
    const field = String(context.name);
    if (context.static) throw new Error(`${field}: Switchboard injects instance fields, not static ones.`);
    const metadata = metadataOf(context, field);
    // The metadata object inherits from the parent class's: copy its fields before adding this class's own.
    if (!Object.hasOwn(metadata, FIELDS)) metadata[FIELDS] = [...fieldsOf(metadata)];
    metadata[FIELDS]!.push(entry(field, (instance, value) => context.access.set(instance as This, value as Value)));
  };
}

function metadataOf(context: { metadata: DecoratorMetadataObject | undefined }, where: string): Metadata {
  if (!context.metadata)
    throw new Error(`${where}: decorator metadata is missing; compile with TypeScript 5.2+ standard decorators (no experimentalDecorators).`);
  return context.metadata as Metadata;
}

function fieldsOf(metadata: Metadata): FieldEntry[] {
  return metadata[FIELDS] ?? [];
}
