// The simulated HPA timeline as chart data and a summary table: the backend replays the recorded CPU usage
// through the autoscaling/v2 algorithm twice (current and proposed settings) and sends ≤ 240 points plus
// the two simulations' totals. Kept free of DOM and uPlot so the mapping is unit-tested on its own.

import type { Line } from "./components/Chart";
import { cpu, duration, pct, usd } from "./format";
import type { HPASimulation, Recommendation, TimelinePoint } from "./types";

// Theme colours (styles.css), resolved by the chart: 3:1 against the chart in both themes.
export const REPLICAS_CURRENT_COLOR = "var(--series-1)";
export const REPLICAS_PROPOSED_COLOR = "var(--good)";
export const USAGE_COLOR = "var(--warn)";
/** The uPlot scale the usage line is drawn on (right axis); replicas use the default `y`. */
export const USAGE_SCALE = "cpu";

export interface TimelineChart {
  times: number[]; // unix seconds
  lines: Line[];
  /** Replica axis range: from 0 to one above the largest replica count, so steps never touch the top. */
  replicaRange: [number, number];
}

/** Points with a parseable timestamp, oldest first (the wire is already ordered; this guards bad input). */
function validPoints(timeline: readonly TimelinePoint[]): { t: number; point: TimelinePoint }[] {
  return timeline
    .map((point) => ({ t: Date.parse(point.timestamp) / 1000, point }))
    .filter((entry) => Number.isFinite(entry.t))
    .sort((a, b) => a.t - b.t);
}

/** Replicas under the current and the proposed HPA (stepped) and the usage that drove them (right axis). */
export function timelineChart(timeline: readonly TimelinePoint[] | null | undefined): TimelineChart {
  const points = validPoints(timeline ?? []);
  const current = points.map((e) => e.point.current_replicas);
  const proposed = points.map((e) => e.point.proposed_replicas);
  const top = Math.max(1, ...current, ...proposed);
  return {
    times: points.map((e) => e.t),
    lines: [
      { label: "replicas, current HPA", values: current, color: REPLICAS_CURRENT_COLOR, step: true },
      { label: "replicas, proposed HPA", values: proposed, color: REPLICAS_PROPOSED_COLOR, step: true, dash: [6, 3] },
      { label: "CPU usage", values: points.map((e) => e.point.usage_millicores), color: USAGE_COLOR, scale: USAGE_SCALE, format: cpu },
    ],
    replicaRange: [0, top + 1],
  };
}

type Better = "lower" | null;

const SUMMARY: { key: keyof HPASimulation; label: string; format: (v: number) => string; better: Better }[] = [
  { key: "replica_hours", label: "Replica-hours", format: (v) => v.toFixed(1), better: "lower" },
  { key: "cost_usd", label: "Cost over the replay", format: usd, better: "lower" },
  { key: "time_at_max_seconds", label: "Time at max replicas", format: duration, better: "lower" },
  { key: "time_at_min_seconds", label: "Time at min replicas", format: duration, better: null },
  { key: "scale_events_per_hour", label: "Scale events per hour", format: (v) => v.toFixed(2), better: "lower" },
  { key: "max_utilization_percent", label: "Peak CPU utilization", format: (v) => pct(v), better: null },
  { key: "time_over_target_seconds", label: "Time over the target", format: duration, better: "lower" },
];

export interface SummaryRow {
  key: keyof HPASimulation;
  label: string;
  current: string;
  proposed: string;
  /** "better" / "worse" when the proposed setting moves a lower-is-better figure; "same" or "neutral" otherwise. */
  verdict: "better" | "worse" | "same" | "neutral";
}

/** Judged on what is shown: two values that print the same ("6m" and "6m") are the same to the reader. */
function verdictOf(better: Better, current: number, proposed: number, shown: [string, string]): SummaryRow["verdict"] {
  if (shown[0] === shown[1]) return "same";
  if (better === null) return "neutral";
  return proposed < current ? "better" : "worse";
}

/** The summary numbers of both simulations side by side; [] when either is missing (not an HPA rec). */
export function summaryRows(current: HPASimulation | null | undefined, proposed: HPASimulation | null | undefined): SummaryRow[] {
  if (!current || !proposed) return [];
  return SUMMARY.map(({ key, label, format, better }) => {
    const shown: [string, string] = [format(current[key]), format(proposed[key])];
    return { key, label, current: shown[0], proposed: shown[1], verdict: verdictOf(better, current[key], proposed[key], shown) };
  });
}

/** The HPA settings a recommendation changes, as "min 2 → 3 · max 10 · target 50% → 70%". */
export function settingsChange(rec: Pick<Recommendation, "current" | "proposed">): string {
  const names: [string, string, (v: unknown) => string][] = [
    ["min_replicas", "min", String],
    ["max_replicas", "max", String],
    ["target_cpu_utilization_percent", "target", (v) => `${String(v)}%`],
  ];
  const parts: string[] = [];
  for (const [key, name, show] of names) {
    const before = rec.current?.[key];
    const after = rec.proposed?.[key];
    if (before === undefined && after === undefined) continue;
    if (before === undefined || before === after) parts.push(`${name} ${show(after ?? before)}`);
    else parts.push(`${name} ${show(before)} → ${after === undefined ? "—" : show(after)}`);
  }
  return parts.join(" · ");
}
