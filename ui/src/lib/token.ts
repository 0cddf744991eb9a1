/**
 * The token, kept for this browser session only (sessionStorage: gone when the tab closes) and
 * never put in a URL, where it would land in history, logs and Referer headers.
 */
const KEY = 'switchboard.token';

export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
