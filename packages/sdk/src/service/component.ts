import { componentSchema, type ComponentTypeValue } from '@switchboard/contracts';

/**
 * `@component`: declares a class a framework component (a step, transformer, validator, flow, middleware or
 * plugin) the way `@service` declares a service. The options are checked at class definition with the server's
 * own rules (contracts' `componentSchema`), so a misuse fails when the class is defined, naming the class and
 * the field; `switchboard scan` reads the same object literal without running the code.
 */
export interface ComponentOptions {
  type: ComponentTypeValue;
  /** A package-like name ("fraud-check") or a display name ("Fraud Check"). */
  name: string;
  version: string;
  /** Default: "<name>@<version>" (a display name: its slug and version, "fraud-check-1.0.0"). */
  id?: string;
  description?: string;
  /** Other components by id or name, optionally with a range: "http-client@^1.2". */
  dependencies?: readonly string[];
  metadata?: Record<string, unknown>;
  /** The flows it serves: "checkout", "checkout@^2" (a range of the flow's version) or "tag:payments". */
  flows?: readonly string[];
  /** The service whose instances run it: `start()` of that service registers it. */
  provider?: string;
}

/** A `@component` class as `describeComponent` reports it: validated, its id filled in. */
export interface ComponentDeclaration {
  className: string;
  id: string;
  type: ComponentTypeValue;
  name: string;
  version: string;
  description: string | undefined;
  dependencies: string[];
  metadata: Record<string, unknown>;
  flows: string[];
  provider: string | undefined;
}

/** A `@component` used wrongly: names the class and the option. */
export class ComponentDeclarationError extends Error {
  override readonly name = 'ComponentDeclarationError';

  constructor(
    readonly className: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${className}.${field}: ${problem}`);
  }
}

const declarations = new WeakMap<object, ComponentDeclaration>();
/** Every component declared so far, in definition order: what `start()` registers when no generated module is loaded. */
const declared: ComponentDeclaration[] = [];

/** Declares a class a Switchboard component; see `describeComponent`. */
export function component(options: ComponentOptions) {
  return <Class extends abstract new (...args: never[]) => unknown>(value: Class, context: ClassDecoratorContext<Class>): void => {
    const declaration = declareComponent(context.name ?? value.name ?? '(anonymous class)', options);
    declarations.set(value, declaration);
    declared.push(declaration);
  };
}

/** The validated declaration of a `@component` class. */
export function describeComponent(target: abstract new (...args: never[]) => unknown): ComponentDeclaration {
  const declaration = declarations.get(target);
  if (!declaration) throw new Error(`${target.name || 'This class'} is not a component: decorate it with @component({ type, name, version, ... }).`);
  return declaration;
}

/** The components declared by the `@component` classes evaluated so far. */
export function declaredComponents(): readonly ComponentDeclaration[] {
  return declared;
}

/** Validates `@component`'s options on `className`; throws ComponentDeclarationError at the first problem. */
export function declareComponent(className: string, options: ComponentOptions | undefined): ComponentDeclaration {
  if (!options || typeof options !== 'object')
    throw new ComponentDeclarationError(className, '@component', 'takes an object: @component({ type, name, version })');
  const parsed = componentSchema.safeParse({ ...options, metadata: options.metadata ?? {} });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
    throw new ComponentDeclarationError(className, field || '@component', issue.message);
  }
  return {
    className,
    id: parsed.data.id,
    type: parsed.data.type,
    name: options.name,
    version: parsed.data.version,
    description: options.description,
    dependencies: [...(options.dependencies ?? [])],
    metadata: parsed.data.metadata,
    flows: [...(options.flows ?? [])],
    provider: options.provider,
  };
}
