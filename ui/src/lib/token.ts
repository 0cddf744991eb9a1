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

/**
 * Whether the server needs a token, as it wrote into the page: the page then asks for one before
 * its first request rather than finding out from a 401 (which the browser logs as an error).
 */
export function serverNeedsToken(): boolean {
  return document.querySelector<HTMLMetaElement>('meta[name="switchboard-token"]')?.content === 'required';
}
