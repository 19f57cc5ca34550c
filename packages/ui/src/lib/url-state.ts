/**
 * The app's location: which screen, and for Explore the query, range,
 * refresh and limit, all in the URL so a view can be shared or bookmarked
 * and Back undoes a zoom. Screens live under /ui/ (the server answers the
 * app for every path there).
 */
import { useEffect, useState } from 'react';

export type Screen = { name: 'explore' } | { name: 'trace'; traceId: string } | { name: 'map' } | { name: 'sources' };

export function screenOf(pathname: string): Screen {
  const p = pathname.replace(/^\/ui\/?/, '');
  const trace = /^trace\/([0-9a-fA-F]{16,32})$/.exec(p);
  if (trace) return { name: 'trace', traceId: trace[1]!.toLowerCase() };
  if (p === 'map') return { name: 'map' };
  if (p === 'sources') return { name: 'sources' };
  return { name: 'explore' };
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** Re-renders on every navigation (pushState through navigate(), Back, Forward). */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const [loc, setLoc] = useState(() => ({ pathname: location.pathname, search: new URLSearchParams(location.search) }));
  useEffect(() => {
    const on = (): void => setLoc({ pathname: location.pathname, search: new URLSearchParams(location.search) });
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  return loc;
}

export function exploreUrl(params: { q: string; from?: string; to?: string; refresh?: string; limit?: string }): string {
  const p = new URLSearchParams();
  p.set('q', params.q);
  p.set('from', params.from ?? 'now-1h');
  p.set('to', params.to ?? 'now');
  if (params.refresh) p.set('refresh', params.refresh);
  if (params.limit) p.set('limit', params.limit);
  return `/ui/explore?${p}`;
}
