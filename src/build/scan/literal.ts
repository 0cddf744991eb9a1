import ts from 'typescript';

/**
 * Reads a decorator argument without running it: literals (strings, numbers, booleans, null, arrays, objects),
 * `as const` and `satisfies`, template literals without substitutions, and references to `const`s initialised
 * with such values (through imports and re-exports, as the type checker resolves them). Anything else would need
 * the code to run, so it is an error at the node that needs it.
 */
export class NotStatic extends Error {
  override readonly name = 'NotStatic';
  constructor(
    readonly node: ts.Node,
    message: string,
  ) {
    super(message);
  }
}

/** How deep one value may nest (a const that names itself would otherwise recurse for ever). */
const MAX_DEPTH = 32;

export function readStatic(node: ts.Expression, checker: ts.TypeChecker, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new NotStatic(node, 'nests too deeply (or refers to itself) to be read statically');
  const read = (inner: ts.Expression) => readStatic(inner, checker, depth + 1);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (node.kind === ts.SyntaxKind.NullKeyword) return null;
  if (ts.isPrefixUnaryExpression(node) && ts.isNumericLiteral(node.operand)) {
    if (node.operator === ts.SyntaxKind.MinusToken) return -Number(node.operand.text);
    if (node.operator === ts.SyntaxKind.PlusToken) return Number(node.operand.text);
  }
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isTypeAssertionExpression(node)) {
    return read(node.expression);
  }
  if (ts.isArrayLiteralExpression(node)) {
    return node.elements.map((element) => {
      if (ts.isSpreadElement(element)) throw new NotStatic(element, 'a spread (...) cannot be read statically: list the values');
      if (ts.isOmittedExpression(element)) throw new NotStatic(element, 'an array with a hole cannot be read statically');
      return read(element);
    });
  }
  if (ts.isObjectLiteralExpression(node)) return readObject(node, checker, depth);
  if (ts.isTemplateExpression(node)) throw new NotStatic(node, 'a template literal with ${…} substitutions cannot be read statically: write the string');
  if (ts.isIdentifier(node)) return readConstant(node, checker, depth);
  if (ts.isPropertyAccessExpression(node)) {
    const object = read(node.expression);
    if (object !== null && typeof object === 'object' && !Array.isArray(object) && Object.hasOwn(object, node.name.text)) {
      return (object as Record<string, unknown>)[node.name.text];
    }
    throw new NotStatic(node, `${node.getText()} is not a property of a constant object scan can read`);
  }
  throw new NotStatic(node, `${describe(node)} cannot be read statically: use a literal, or a const initialised with one`);
}

/** The keys of an object literal, in source order. */
function readObject(node: ts.ObjectLiteralExpression, checker: ts.TypeChecker, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const property of node.properties) {
    if (ts.isSpreadAssignment(property)) throw new NotStatic(property, 'a spread (...) cannot be read statically: write the properties out');
    if (ts.isShorthandPropertyAssignment(property)) {
      out[property.name.text] = readConstant(property.name, checker, depth + 1, checker.getShorthandAssignmentValueSymbol(property));
      continue;
    }
    if (!ts.isPropertyAssignment(property)) throw new NotStatic(property, `${describe(property)} cannot be read statically: use \`key: value\``);
    out[propertyName(property.name)] = readStatic(property.initializer, checker, depth + 1);
  }
  return out;
}

/** A property's name as written: an identifier, a string or a number; a computed name is an error. */
export function propertyName(name: ts.PropertyName): string {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name)) {
    // ['literal'] is as static as 'literal'.
    if (ts.isStringLiteralLike(name.expression) || ts.isNumericLiteral(name.expression)) return name.expression.text;
    throw new NotStatic(name, 'a computed name cannot be read statically: write the name');
  }
  throw new NotStatic(name, `${describe(name)} cannot be read statically`);
}

/** A reference to a `const` with a static initialiser, followed through imports and re-exports. */
function readConstant(node: ts.Identifier, checker: ts.TypeChecker, depth: number, given?: ts.Symbol): unknown {
  if (node.text === 'undefined' && !given) return undefined;
  let symbol = given ?? checker.getSymbolAtLocation(node);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const declaration = symbol?.valueDeclaration;
  if (
    declaration &&
    ts.isVariableDeclaration(declaration) &&
    declaration.initializer &&
    ts.isVariableDeclarationList(declaration.parent) &&
    declaration.parent.flags & ts.NodeFlags.Const
  ) {
    try {
      return readStatic(declaration.initializer, checker, depth + 1);
    } catch (error) {
      // Reported where the decorator uses it; the const's own initialiser is the reason.
      if (error instanceof NotStatic) throw new NotStatic(node, `"${node.text}" is not a constant scan can read (${error.message})`);
      throw error;
    }
  }
  throw new NotStatic(node, `"${node.text}" is not a constant scan can read: use a literal, or a const initialised with one`);
}

function describe(node: ts.Node): string {
  if (ts.isCallExpression(node)) return `a call (${node.expression.getText().slice(0, 40)}(…))`;
  if (ts.isMethodDeclaration(node)) return 'a method';
  if (ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) return 'an accessor';
  if (ts.isBinaryExpression(node)) return 'an expression';
  if (ts.isConditionalExpression(node)) return 'a conditional expression';
  if (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) return 'a function';
  if (ts.isNewExpression(node)) return 'a `new` expression';
  return `this ${ts.SyntaxKind[node.kind]}`;
}
