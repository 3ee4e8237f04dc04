// History routing: every view has a URL (deep links, back button). nginx and the demo proxy answer unknown
// paths with index.html, so a reload on /services/default/echo-demo lands on the same view.

import { useEffect, useState } from "preact/hooks";

export type Route =
  | { view: "overview" }
  | { view: "services" }
  | { view: "service"; namespace: string; name: string }
  | { view: "recommendations" }
  | { view: "network" }
  | { view: "not-found"; path: string };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "overview")) return { view: "overview" };
  if (parts[0] === "services" && parts.length === 1) return { view: "services" };
  if (parts[0] === "services" && parts.length === 3) return { view: "service", namespace: parts[1]!, name: parts[2]! };
  if (parts[0] === "recommendations" && parts.length === 1) return { view: "recommendations" };
  if (parts[0] === "network" && parts.length === 1) return { view: "network" };
  return { view: "not-found", path: pathname };
}

export const servicePath = (namespace: string, name: string): string =>
  `/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;

/** Dispatched on window by navigate(): a route change made by the app, not by the back/forward buttons. */
export const CHANGE = "k8s-optimizer:navigate";

export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(CHANGE));
  window.scrollTo(0, 0);
}

export function useLocation(): { pathname: string; search: string } {
  const read = () => ({ pathname: window.location.pathname, search: window.location.search });
  const [location, setLocation] = useState(read);
  useEffect(() => {
    const update = () => setLocation(read());
    window.addEventListener("popstate", update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return location;
}

/** Query parameters of the current URL, updated with replaceState (filters do not flood the history). */
export function setQuery(updates: Record<string, string | null>): void {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(updates)) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const search = params.toString();
  navigate(`${window.location.pathname}${search ? `?${search}` : ""}`, true);
}
