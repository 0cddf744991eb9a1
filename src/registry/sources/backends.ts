import { toError } from '@switchboard/contracts';
import type { CatalogSource } from '@switchboard/sdk';
import { SOURCE_PACKAGES, type SourceConfig } from './config.js';

/** Loads a module by name: `import()`, or a stand-in in tests. */
export type ModuleLoader = (specifier: string) => Promise<Record<string, unknown>>;

/**
 * The specifier is a variable on purpose: TypeScript and bundlers then leave the backends out of the
 * server's build, and a backend's client library (etcd3, @kubernetes/client-node…) is installed
 * only by those who follow such a source.
 */
const importModule: ModuleLoader = (specifier) => import(specifier) as Promise<Record<string, unknown>>;

/**
 * Constructs the backend of a configured source, loading its package on first use. Fails with a
 * sentence naming the source and what to do: the package to install, or what its backend said of
 * the options (which it validates when constructed, before anything is sent). What the backend
 * warns of (a malformed entry skipped) goes to `onWarning`: the server's log, not the console.
 */
export async function openSourceBackend(config: SourceConfig, onWarning: (message: string) => void, load: ModuleLoader = importModule): Promise<CatalogSource> {
  const { packageName, className } = SOURCE_PACKAGES[config.type];
  const at = `SWITCHBOARD_SOURCES: source "${config.name}" (type ${config.type})`;
  let module: Record<string, unknown>;
  try {
    module = await load(packageName);
  } catch (error) {
    if (isMissing(error, packageName)) throw new Error(`${at} needs the package ${packageName}: install it beside switchboard (npm install ${packageName}).`);
    throw new Error(`${at}: ${packageName} could not be loaded: ${toError(error).message}`, { cause: error });
  }
  const Backend = module[className];
  if (typeof Backend !== 'function') throw new Error(`${at}: ${packageName} has no ${className}; install a version of it that does.`);
  let backend: unknown;
  try {
    backend = new (Backend as new (options: Record<string, unknown>) => unknown)({ ...config.options, onWarning });
  } catch (error) {
    throw new Error(`${at}: ${toError(error).message}`, { cause: error });
  }
  if (typeof (backend as Partial<CatalogSource>).watchCatalog !== 'function') {
    throw new Error(`${at}: ${packageName}'s ${className} cannot be followed (it has no watchCatalog); install a version of it that can.`);
  }
  return backend as CatalogSource;
}

/** The package itself is not installed (not one of its own imports failing). */
function isMissing(error: unknown, packageName: string): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${packageName}'`);
}
