import { validateEnvironment } from '@switchboard/contracts';

/**
 * The environment as stored: '' for the global value (absent in the API).
 * An empty string from a client is refused rather than read as "global".
 */
export function storedEnvironment(environment: string | null | undefined): string {
  return environment == null ? '' : validateEnvironment(environment);
}

export function apiEnvironment(stored: string): string | null {
  return stored === '' ? null : stored;
}
