// The app shell: navigation (a menu on phones), the connection indicator, the theme switch, the live region
// and the routed view. Heavy views (service detail with charts, recommendations, network map) are loaded on
// demand to keep the first load small. Focus follows route changes (focus.ts) so keyboard users land on
// the new content, and come back to the link they followed when they go back.

import type { ComponentType, JSX } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";

import { ConnectionIndicator } from "./components/Connection";
import { LiveAnnouncer } from "./components/LiveAnnouncer";
import { Link, Loading } from "./components/common";
import { type NavigationCause, focusLinkWhenShown, focusMemory, focusPlan } from "./focus";
import { clock } from "./format";
import { ConnectionContext, StoreContext, ThemeContext, useLive } from "./hooks";
import { CHANGE, type Route, parseRoute, useLocation } from "./router";
import type { Store } from "./store";
import { Overview } from "./views/Overview";
import { Services } from "./views/Services";
import type { ConnectionState } from "./ws";

type Loader = () => Promise<ComponentType<{ route: Route }>>;

const loaders: Record<string, Loader> = {
  service: () => import("./views/ServiceDetail").then((m) => m.ServiceDetail),
  recommendations: () => import("./views/Recommendations").then((m) => m.Recommendations),
  network: () => import("./views/NetworkMap").then((m) => m.NetworkMap),
};

function Lazy(props: { name: string; route: Route }): JSX.Element {
  const [component, setComponent] = useState<{ view: ComponentType<{ route: Route }> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    loaders[props.name]!()
      .then((view) => live && setComponent({ view }))
      .catch((err: unknown) => live && setError(String(err)));
    return () => {
      live = false;
    };
  }, [props.name]);
  if (error) return <div class="state state-error">Could not load this view: {error}</div>;
  if (!component) return <Loading what="view" />;
  const View = component.view;
  return <View route={props.route} />;
}

function RoutedView(props: { route: Route }): JSX.Element {
  const { route } = props;
  switch (route.view) {
    case "overview":
      return <Overview />;
    case "services":
      return <Services />;
    case "service":
    case "recommendations":
    case "network":
      return <Lazy name={route.view} route={route} />;
    default:
      return (
        <div class="page">
          <h1>Not found</h1>
          <div class="state state-empty" data-testid="not-found">
            Nothing at <code>{route.path}</code>. <Link href="/">Go to the overview</Link>.
          </div>
        </div>
      );
  }
}

const NAV: { href: string; label: string; views: string[] }[] = [
  { href: "/", label: "Overview", views: ["overview"] },
  { href: "/services", label: "Services", views: ["services", "service"] },
  { href: "/recommendations", label: "Recommendations", views: ["recommendations"] },
  { href: "/network", label: "Network map", views: ["network"] },
];

function applyTheme(theme: string): string {
  document.documentElement.dataset.theme = theme;
  return theme;
}

function useTheme(): [string, () => void] {
  const initial = (() => {
    try {
      return localStorage.getItem("k8s-optimizer.theme");
    } catch {
      return null;
    }
  })();
  const prefersLight = typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: light)").matches;
  // The attribute is set before the render that uses the theme, not in an effect: charts read the theme's
  // colours in their own effects, which run before their parents' effects.
  const [theme, setTheme] = useState(() => applyTheme(initial ?? (prefersLight ? "light" : "dark")));
  useEffect(() => {
    try {
      localStorage.setItem("k8s-optimizer.theme", theme);
    } catch {
      // private mode: the theme is not remembered
    }
  }, [theme]);
  return [theme, () => setTheme(applyTheme(theme === "dark" ? "light" : "dark"))];
}

/** Moves focus after route changes (not after query changes: typing in a filter keeps focus in the field). */
function useRouteFocus(pathname: string, main: { current: HTMLElement | null }): void {
  const cause = useRef<NavigationCause>("initial");
  useEffect(() => {
    // The skip link's fragment navigation fires popstate too, so the cause is set by every navigation.
    const popped = () => {
      cause.current = "history";
    };
    const followed = () => {
      cause.current = "link";
    };
    window.addEventListener("popstate", popped);
    window.addEventListener(CHANGE, followed);
    return () => {
      window.removeEventListener("popstate", popped);
      window.removeEventListener(CHANGE, followed);
    };
  }, []);
  useEffect(() => {
    const plan = focusPlan(cause.current, pathname, focusMemory);
    const element = main.current;
    if (!element || !plan.main) return;
    element.focus({ preventScroll: true });
    return plan.link ? focusLinkWhenShown(element, plan.link) : undefined;
  }, [pathname]);
}

interface Menu {
  open: boolean;
  toggle: () => void;
  button: { current: HTMLButtonElement | null };
  nav: { current: HTMLElement | null };
}

/**
 * The phone menu: closed again by navigation, by Escape (focus back on its button), by a click outside it
 * and by focus leaving it (Tab past the last entry), so it never hides the page it opened over.
 */
function useMenu(pathname: string): Menu {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const nav = useRef<HTMLElement>(null);
  useEffect(() => setOpen(false), [pathname]);
  useEffect(() => {
    if (!open) return;
    const inside = (target: EventTarget | null) => target instanceof Node && (nav.current?.contains(target) || button.current?.contains(target));
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      setOpen(false);
      button.current?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      if (!inside(event.target)) setOpen(false);
    };
    const onFocus = (event: FocusEvent) => {
      if (!inside(event.target)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("focusin", onFocus);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("focusin", onFocus);
    };
  }, [open]);
  return { open, toggle: () => setOpen((o) => !o), button, nav };
}

function Shell(): JSX.Element {
  const location = useLocation();
  const route = parseRoute(location.pathname);
  const [theme, toggleTheme] = useTheme();
  const connection = useContext(ConnectionContext);
  const live = useLive();
  const main = useRef<HTMLElement>(null);
  const menu = useMenu(location.pathname);
  useRouteFocus(location.pathname, main);
  const openRecommendations = live.recommendations.length;
  useEffect(() => {
    const names: Record<string, string> = { overview: "Overview", services: "Services", recommendations: "Recommendations", network: "Network map" };
    const title = route.view === "service" ? `${route.namespace}/${route.name}` : names[route.view] ?? "Not found";
    document.title = `${title} · k8s-service-optimizer`;
  }, [location.pathname]);
  const stale = connection.status === "reconnecting";
  return (
    <ThemeContext.Provider value={theme}>
      <div class="shell">
        <a class="skip" href="#main" data-testid="skip-link">
          Skip to content
        </a>
        <header class="topbar">
          <Link href="/" class="brand">
            <span class="brand-mark" aria-hidden="true" />
            <span>
              k8s-<span class="brand-long">service-</span>optimizer
            </span>
          </Link>
          <button type="button" ref={menu.button} class="btn nav-toggle" aria-expanded={menu.open} aria-controls="nav" onClick={menu.toggle} data-testid="nav-toggle">
            <span aria-hidden="true">☰</span> Menu
          </button>
          <nav id="nav" ref={menu.nav} aria-label="Views" class={menu.open ? "nav open" : "nav"}>
            {NAV.map((item) => {
              const current = item.views.includes(route.view);
              return (
                <Link key={item.href} href={item.href} class={current ? "nav-item active" : "nav-item"} current={current ? "page" : undefined} testid={`nav-${item.views[0]}`}>
                  {item.label}
                  {item.href === "/recommendations" && openRecommendations > 0 && (
                    <span class="nav-count">
                      {openRecommendations}
                      <span class="sr-only"> open</span>
                    </span>
                  )}
                </Link>
              );
            })}
          </nav>
          <div class="topbar-right">
            <ConnectionIndicator />
            <button type="button" class="btn btn-ghost" onClick={toggleTheme} aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`} data-testid="theme-toggle">
              <span aria-hidden="true">{theme === "dark" ? "☀" : "☾"}</span>
            </button>
          </div>
        </header>
        <LiveAnnouncer />
        <main id="main" ref={main} class={stale ? "main stale" : "main"} tabIndex={-1} data-testid={`view-${route.view}`}>
          {stale && (
            <p class="stale-banner" data-testid="stale-banner">
              {live.synced
                ? `Not live: this is the last known state, from ${clock(connection.staleSinceMs)}. Reconnecting…`
                : "Not connected to the backend yet. Retrying…"}
            </p>
          )}
          <RoutedView route={route} />
        </main>
      </div>
    </ThemeContext.Provider>
  );
}

export function App(props: { store: Store; connection: ConnectionState }): JSX.Element {
  return (
    <StoreContext.Provider value={props.store}>
      <ConnectionContext.Provider value={props.connection}>
        <Shell />
      </ConnectionContext.Provider>
    </StoreContext.Provider>
  );
}
