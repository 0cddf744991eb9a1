import ts from 'typescript';

export type DecoratorKind = 'service' | 'component' | 'dependency' | 'config';

const KINDS: readonly DecoratorKind[] = ['service', 'component', 'dependency', 'config'];
export const SDK_MODULE = '@switchboard/sdk';

/**
 * The SDK's decorators as the type checker knows them. '@switchboard/sdk' is resolved the way the program
 * resolves it from each scanned file (node_modules, a `paths` alias), and a decorator is the SDK's when its
 * symbol, with every alias followed (a renamed import, a namespace, a barrel's re-export), is the SDK's own
 * declaration: names are never compared, so a local function called `service` is not mistaken for it.
 */
export function sdkDecorators(program: ts.Program, checker: ts.TypeChecker, files: readonly string[]) {
  const symbols = new Map<ts.Symbol, DecoratorKind>();
  const seenModules = new Set<string>();
  const host = { fileExists: ts.sys.fileExists, readFile: ts.sys.readFile, realpath: ts.sys.realpath, directoryExists: ts.sys.directoryExists };
  for (const file of files) {
    const resolved = ts.resolveModuleName(SDK_MODULE, file, program.getCompilerOptions(), host).resolvedModule?.resolvedFileName;
    if (!resolved || seenModules.has(resolved)) continue;
    seenModules.add(resolved);
    const source = program.getSourceFile(resolved);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) continue;
    for (const exported of checker.getExportsOfModule(module)) {
      const kind = KINDS.find((each) => each === exported.name);
      if (kind) symbols.set(resolve(checker, exported), kind);
    }
  }
  return {
    /** Which SDK decorator `expression` (the callee: `service`, `svc`, `sdk.service`) is, if any. */
    kindOf(expression: ts.Expression): DecoratorKind | undefined {
      const target = ts.isPropertyAccessExpression(expression) ? expression.name : expression;
      const symbol = checker.getSymbolAtLocation(target);
      return symbol ? symbols.get(resolve(checker, symbol)) : undefined;
    },
  };
}

function resolve(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}
