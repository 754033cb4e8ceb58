/** The page's location: `#/view/id?key=value`, so that views can be linked and reloaded. */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  view: string;
  id: string | undefined;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const [view = 'mail', ...rest] = path.split('/');
  const id = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  return { view: view || 'mail', id, params: new URLSearchParams(search) };
}

export function href(view: string, id?: string, params?: Record<string, string | undefined>): string {
  let h = `#/${view}${id ? `/${encodeURIComponent(id)}` : ''}`;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v) q.set(k, v);
  if ([...q].length > 0) h += `?${q}`;
  return h;
}

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}
