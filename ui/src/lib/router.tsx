import type { AnchorHTMLAttributes, ComponentType, TargetedMouseEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Where the server serves the dashboard ("/ui/"); every route is below it. */
export const BASE = import.meta.env.BASE_URL;

export type RouteParams = Record<string, string>;

/**
 * A page of the dashboard. Pages are listed in pages/index.ts; a page with `nav` gets a link in
 * the header, in `nav.order`. `path` is matched below BASE: "/" or "/services/:name".
 */
export interface PageDefinition {
  path: string;
  title: string | ((params: RouteParams) => string);
  nav?: { label: string; order: number };
  component: ComponentType<{ params: RouteParams; query: URLSearchParams }>;
}

export function definePage(page: PageDefinition): PageDefinition {
  return page;
}

export interface Location {
  /** Below BASE, starting with "/". */
  path: string;
  query: URLSearchParams;
}

function currentLocation(): Location {
  const below = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length - 1) : '/';
  return { path: below || '/', query: new URLSearchParams(location.search) };
}

/** Matches "/services/:name" against "/services/payments" → { name: "payments" }. */
export function matchPath(pattern: string, path: string): RouteParams | undefined {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: RouteParams = {};
  for (const [index, part] of want.entries()) {
    const actual = got[index]!;
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(actual);
    else if (part !== actual) return undefined;
  }
  return params;
}

/** The dashboard URL for a path below BASE ("/services/x" → "/ui/services/x"). */
export function href(path: string, query?: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined && value !== '') search.set(name, value);
  const text = search.toString();
  return `${BASE}${path.replace(/^\//, '')}${text ? `?${text}` : ''}`;
}

const listeners = new Set<() => void>();
addEventListener('popstate', () => listeners.forEach((listener) => listener()));

/** Goes to a dashboard URL without reloading; `replace` for filter changes that should not pile up in history. */
export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((listener) => listener());
  if (!options.replace) scrollTo(0, 0);
}

export function useLocation(): Location {
  const [where, setWhere] = useState(currentLocation);
  useEffect(() => {
    const update = () => setWhere(currentLocation());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return where;
}

/** A link inside the dashboard: a real <a href> (new tabs, copy link), followed without a reload. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (event: TargetedMouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}
