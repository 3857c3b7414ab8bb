// Which hostnames a Route serves through a Listener: the intersection of the route's
// hostnames with the listener's hostname (HTTPRouteSpec.hostnames docs, GEP-1911).
// Grammar and coverage come from src/ir/hostname.ts, shared with the proxy.
import { hostnameCovers, normalizeHostname } from '../../ir/hostname.js';

/**
 * The hostnames a route serves through a listener, most specific kept: a route
 * hostname inside the listener's wildcard stays as it is; a route wildcard that covers
 * the listener's hostname narrows to the listener's. `[]` with `attaches: true` means
 * "every host the listener serves"; `attaches: false` is NoMatchingListenerHostname.
 */
export function intersectHostnames(listenerHostname: string | undefined, routeHostnames: string[] | undefined): { attaches: boolean; hostnames: string[] } {
  const listener = listenerHostname ? normalizeHostname(listenerHostname) : undefined;
  const routes = [...new Set((routeHostnames ?? []).map(normalizeHostname))];
  if (routes.length === 0) return { attaches: true, hostnames: listener ? [listener] : [] };
  const served = new Set<string>();
  for (const route of routes) {
    if (hostnameCovers(listener, route)) served.add(route);
    else if (listener && hostnameCovers(route, listener)) served.add(listener);
  }
  return { attaches: served.size > 0, hostnames: [...served] };
}
