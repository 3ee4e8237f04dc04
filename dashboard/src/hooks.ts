// Glue between the live store / REST and Preact components.

import { createContext } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";

import { ApiError, api } from "./api";
import type { State, Store } from "./store";
import type { ConnectionState } from "./ws";

export const StoreContext = createContext<Store | null>(null);
/** The current theme ("dark" | "light"): charts bake its colours into their canvas and redraw on a switch. */
export const ThemeContext = createContext<string>("dark");

export const ConnectionContext = createContext<ConnectionState>({
  status: "connecting",
  staleSinceMs: null,
  attempt: 0,
  nextRetryMs: null,
});

/** The current live state; re-renders the component when a message changes it (coalesced per frame). */
export function useLive(): State {
  const store = useContext(StoreContext);
  if (!store) throw new Error("useLive outside StoreContext");
  const [state, setState] = useState(store.current);
  useEffect(() => {
    let frame: number | null = null;
    setState(store.current);
    const unsubscribe = store.subscribe(() => {
      if (frame !== null) return;
      frame = requestAnimationFrame(() => {
        frame = null;
        setState(store.current);
      });
    });
    return () => {
      unsubscribe();
      if (frame !== null) cancelAnimationFrame(frame);
    };
  }, [store]);
  return state;
}

export interface Fetched<T> {
  data: T | null;
  error: string | null;
  status: number | null; // HTTP status of the last failure (0: unreachable)
  loading: boolean;
  reload: () => void;
}

/** GET `path` (null: nothing to fetch); refetches when `revision` changes, keeping the old data meanwhile. */
export function useFetch<T>(path: string | null, revision: unknown = 0): Fetched<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<number | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const lastPath = useRef<string | null>(null);
  useEffect(() => {
    if (path === null) return;
    if (lastPath.current !== path) {
      setData(null);
      lastPath.current = path;
    }
    const controller = new AbortController();
    setLoading(true);
    api
      .get<T>(path, controller.signal)
      .then((body) => {
        setData(body);
        setError(null);
        setStatus(null);
      })
      .catch((err: unknown) => {
        if ((err as Error).name === "AbortError") return;
        setError(err instanceof ApiError ? err.message : String(err));
        setStatus(err instanceof ApiError ? err.status : 0);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [path, revision, tick]);
  return { data, error, status, loading, reload: () => setTick((n) => n + 1) };
}

/** A value that follows `value` but changes at most once per `ms` (detail refetches on bursts of deltas). */
export function useThrottled<T>(value: T, ms: number): T {
  const [current, setCurrent] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const wait = Math.max(0, last.current + ms - Date.now());
    const handle = setTimeout(() => {
      last.current = Date.now();
      setCurrent(value);
    }, wait);
    return () => clearTimeout(handle);
  }, [value, ms]);
  return current;
}
