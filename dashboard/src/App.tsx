// The app shell: navigation, the connection indicator, the theme switch and the routed view. Heavy views
// (service detail with charts, recommendations, network map) are loaded on demand to keep the first load small.

import type { ComponentType, JSX } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";

import { ConnectionIndicator } from "./components/Connection";
import { Link, Loading } from "./components/common";
import { ConnectionContext, StoreContext, useLive } from "./hooks";
import { type Route, parseRoute, useLocation } from "./router";
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
        <div class="state state-empty" data-testid="not-found">
          Nothing at <code>{route.path}</code>. <Link href="/">Go to the overview</Link>.
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

function useTheme(): [string, () => void] {
  const initial = (() => {
    try {
      return localStorage.getItem("k8s-optimizer.theme");
    } catch {
      return null;
    }
  })();
  const prefersLight = typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: light)").matches;
  const [theme, setTheme] = useState(initial ?? (prefersLight ? "light" : "dark"));
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    try {
      localStorage.setItem("k8s-optimizer.theme", theme);
    } catch {
      // private mode: the theme is not remembered
    }
  }, [theme]);
  return [theme, () => setTheme((t) => (t === "dark" ? "light" : "dark"))];
}

function Shell(): JSX.Element {
  const location = useLocation();
  const route = parseRoute(location.pathname);
  const [theme, toggleTheme] = useTheme();
  const connection = useContext(ConnectionContext);
  const live = useLive();
  const openRecommendations = live.recommendations.length;
  useEffect(() => {
    const names: Record<string, string> = { overview: "Overview", services: "Services", recommendations: "Recommendations", network: "Network map" };
    const title = route.view === "service" ? `${route.namespace}/${route.name}` : names[route.view] ?? "Not found";
    document.title = `${title} · k8s-service-optimizer`;
  }, [location.pathname]);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          <span class="brand-mark" aria-hidden="true" />
          k8s-service-optimizer
        </Link>
        <nav aria-label="Views" class="nav">
          {NAV.map((item) => (
            <Link
              key={item.href}
              href={item.href}
              class={item.views.includes(route.view) ? "nav-item active" : "nav-item"}
              testid={`nav-${item.views[0]}`}
            >
              {item.label}
              {item.href === "/recommendations" && openRecommendations > 0 && <span class="nav-count">{openRecommendations}</span>}
            </Link>
          ))}
        </nav>
        <div class="topbar-right">
          <ConnectionIndicator />
          <button type="button" class="btn btn-ghost" onClick={toggleTheme} aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`} data-testid="theme-toggle">
            {theme === "dark" ? "☀" : "☾"}
          </button>
        </div>
      </header>
      <main id="main" class={connection.status === "reconnecting" ? "main stale" : "main"} tabIndex={-1} data-testid={`view-${route.view}`}>
        <RoutedView route={route} />
      </main>
    </div>
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
