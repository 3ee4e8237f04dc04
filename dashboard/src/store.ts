// The dashboard's single source of live state, fed only by WebSocket messages (snapshot, delta, metrics,
// recommendations, anomalies). Views read it and re-render on change; REST is used only for detail pages and
// actions. Every update replaces just the objects it touches, so unchanged table rows keep their identity
// and do not re-render (rows update in place, without flicker).

import type {
  Anomaly,
  DeltaMessage,
  HPAOut,
  MetricsData,
  NodeOut,
  PodOut,
  PodUsage,
  Recommendation,
  ServerMessage,
  ServiceSummary,
  SnapshotMessage,
} from "./types";

export const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;

/** One observation of an HPA as seen live: current and desired replicas at a wall-clock time. */
export interface HpaPoint {
  tMs: number;
  current: number | null;
  desired: number | null;
}

const HPA_HISTORY_POINTS = 720; // an hour at one sample per 5 s
const HPA_SAMPLE_MS = 5000;

export interface State {
  seq: number | null;
  synced: boolean; // a snapshot has been received
  services: ReadonlyMap<string, ServiceSummary>;
  pods: ReadonlyMap<string, PodOut>;
  nodes: ReadonlyMap<string, NodeOut>;
  hpas: ReadonlyMap<string, HPAOut>;
  podUsage: ReadonlyMap<string, PodUsage>;
  metricsAt: string | null;
  recommendations: readonly Recommendation[];
  anomalies: readonly Anomaly[];
  /** Current vs desired replicas of each HPA since the page was opened (sampled on changes and metrics ticks). */
  hpaHistory: ReadonlyMap<string, readonly HpaPoint[]>;
  /** Bumped for a service whenever its summary, pods or endpoints change: detail views refetch on it. */
  serviceRevisions: ReadonlyMap<string, number>;
  lastError: string | null;
}

export const emptyState = (): State => ({
  seq: null,
  synced: false,
  services: new Map(),
  pods: new Map(),
  nodes: new Map(),
  hpas: new Map(),
  podUsage: new Map(),
  metricsAt: null,
  recommendations: [],
  anomalies: [],
  hpaHistory: new Map(),
  serviceRevisions: new Map(),
  lastError: null,
});

type Listener = (state: State) => void;

function byKey<T extends { namespace: string; name: string }>(items: readonly T[] | null | undefined): Map<string, T> {
  return new Map((items ?? []).map((item) => [keyOf(item.namespace, item.name), item]));
}

function withEntry<T>(map: ReadonlyMap<string, T>, key: string, value: T | null): Map<string, T> {
  const next = new Map(map);
  if (value === null) next.delete(key);
  else next.set(key, value);
  return next;
}

function bump(revisions: ReadonlyMap<string, number>, key: string): Map<string, number> {
  return withEntry(revisions, key, (revisions.get(key) ?? 0) + 1);
}

/** Append the HPAs' current/desired replicas at `nowMs` (only HPAs in `keys`, or all). */
function sampleHpas(state: State, nowMs: number, keys?: string[]): State {
  const history = new Map(state.hpaHistory);
  for (const key of keys ?? state.hpas.keys()) {
    const hpa = state.hpas.get(key);
    if (!hpa) {
      history.delete(key);
      continue;
    }
    const previous = history.get(key) ?? [];
    const last = previous[previous.length - 1];
    const unchanged = last && last.current === hpa.current_replicas && last.desired === hpa.desired_replicas;
    // Fast metrics ticks (an accelerated cluster) would flood the chart: keep changes, and at most one
    // unchanged sample per HPA_SAMPLE_MS.
    if (unchanged && nowMs - last.tMs < HPA_SAMPLE_MS) continue;
    const points = [...previous, { tMs: nowMs, current: hpa.current_replicas, desired: hpa.desired_replicas }];
    history.set(key, points.slice(-HPA_HISTORY_POINTS));
  }
  return { ...state, hpaHistory: history };
}

/** Pure reducer: the state after one server message (exported for tests; `nowMs` stamps HPA samples). */
export function reduce(state: State, message: ServerMessage, nowMs: number = Date.now()): State {
  switch (message.type) {
    case "snapshot":
      return sampleHpas(applySnapshot(state, message), nowMs);
    case "delta": {
      const next = applyDelta({ ...state, seq: Math.max(state.seq ?? 0, message.seq) }, message);
      return message.topic === "hpa" ? sampleHpas(next, nowMs, [keyOf(message.namespace, message.name)]) : next;
    }
    case "metrics":
      return sampleHpas(applyMetrics({ ...state, seq: Math.max(state.seq ?? 0, message.seq) }, message), nowMs);
    case "recommendations":
      return { ...state, recommendations: message.items ?? [] };
    case "anomalies":
      return { ...state, anomalies: message.items ?? [] };
    case "error":
      return { ...state, lastError: `${message.code}: ${message.detail}` };
    default:
      return state;
  }
}

function applySnapshot(state: State, message: SnapshotMessage): State {
  const data = message.data ?? {};
  // A snapshot is authoritative for the topics it names: a topic named with no data means "now empty".
  const has = (topic: string): boolean => message.topics.includes(topic as never);
  let next: State = { ...state, seq: message.seq, synced: true };
  if (has("services")) next = { ...next, services: byKey(data.services) };
  if (has("pods")) next = { ...next, pods: byKey(data.pods) };
  if (has("nodes")) next = { ...next, nodes: new Map((data.nodes ?? []).map((node) => [node.name, node])) };
  if (has("hpa")) next = { ...next, hpas: byKey(data.hpa) };
  if (has("recommendations")) next = { ...next, recommendations: data.recommendations ?? [] };
  if (has("anomalies")) next = { ...next, anomalies: data.anomalies ?? [] };
  if (has("metrics") && data.metrics) next = applyMetrics(next, data.metrics);
  const revisions = new Map(next.serviceRevisions);
  for (const key of next.services.keys()) revisions.set(key, (revisions.get(key) ?? 0) + 1);
  return { ...next, serviceRevisions: revisions };
}

function applyDelta(state: State, delta: DeltaMessage): State {
  const key = keyOf(delta.namespace, delta.name);
  const value = delta.change === "deleted" ? null : delta.object;
  switch (delta.topic) {
    case "services":
      if (delta.kind !== "Service") return state;
      return {
        ...state,
        services: withEntry(state.services, key, value as ServiceSummary | null),
        serviceRevisions: bump(state.serviceRevisions, key),
      };
    case "pods":
      return { ...state, pods: withEntry(state.pods, key, value as PodOut | null) };
    case "nodes":
      return { ...state, nodes: withEntry(state.nodes, delta.name, value as NodeOut | null) };
    case "hpa":
      return { ...state, hpas: withEntry(state.hpas, key, value as HPAOut | null) };
    default:
      return state;
  }
}

function percent(usage: number, request: number | null): number | null {
  return request ? (usage / request) * 100 : null;
}

function applyMetrics(state: State, metrics: MetricsData): State {
  const podUsage = byKey(metrics.pods);
  let services = state.services;
  for (const usage of metrics.services ?? []) {
    const key = keyOf(usage.namespace, usage.name);
    const current = services.get(key);
    if (!current) continue;
    const resources = {
      ...current.resources,
      cpu_usage_millicores: usage.cpu_millicores,
      memory_usage_bytes: usage.memory_bytes,
      cpu_utilization_percent: percent(usage.cpu_millicores, current.resources.cpu_request_millicores),
      memory_utilization_percent: percent(usage.memory_bytes, current.resources.memory_request_bytes),
    };
    if (services === state.services) services = new Map(services);
    (services as Map<string, ServiceSummary>).set(key, { ...current, resources });
  }
  return { ...state, services, podUsage, metricsAt: metrics.timestamp ?? state.metricsAt };
}

/** The observable wrapper the app uses: holds the current State and notifies listeners after each message. */
export class Store {
  private state: State = emptyState();
  private readonly listeners = new Set<Listener>();

  get current(): State {
    return this.state;
  }

  apply(message: ServerMessage): void {
    const next = reduce(this.state, message);
    if (next === this.state) return;
    this.state = next;
    for (const listener of this.listeners) listener(next);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
