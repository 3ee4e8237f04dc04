import { describe, expect, it } from "vitest";

import { applyAvailability, shouldOfferToken } from "../src/capabilities";
import { duration, scoreTitle } from "../src/format";
import { serviceFor } from "../src/model";
import { REPLICAS_CURRENT_COLOR, REPLICAS_PROPOSED_COLOR, USAGE_SCALE, settingsChange, summaryRows, timelineChart } from "../src/simulation";
import { workloadsWithFindings } from "../src/components/WorkloadFindings";
import type { Capabilities, HPASimulation, TimelinePoint, WorkloadSummary } from "../src/types";
import type { ConnectionState } from "../src/ws";
import { service } from "./fixtures";

const point = (timestamp: string, usage: number, current: number, proposed: number): TimelinePoint => ({
  timestamp,
  usage_millicores: usage,
  current_replicas: current,
  proposed_replicas: proposed,
});

const CURRENT: HPASimulation = {
  replica_hours: 48,
  cost_usd: 2.4,
  time_at_max_seconds: 3600,
  time_at_min_seconds: 0,
  scale_events_per_hour: 1.5,
  max_utilization_percent: 140,
  time_over_target_seconds: 1800,
};
const PROPOSED: HPASimulation = {
  replica_hours: 52.5,
  cost_usd: 2.63,
  time_at_max_seconds: 0,
  time_at_min_seconds: 600,
  scale_events_per_hour: 1.5,
  max_utilization_percent: 95,
  time_over_target_seconds: 120,
};

describe("timelineChart", () => {
  it("maps the wire timeline to unix seconds, two stepped replica lines and the usage on its own scale", () => {
    const chart = timelineChart([point("2026-11-26T12:00:00Z", 180.5, 2, 3), point("2026-11-26T12:01:00Z", 420, 5, 6)]);
    expect(chart.times).toEqual([1795694400, 1795694460]);
    expect(chart.lines.map((l) => [l.label, l.values, l.color, l.step ?? false, l.scale ?? "y"])).toEqual([
      ["replicas, current HPA", [2, 5], REPLICAS_CURRENT_COLOR, true, "y"],
      ["replicas, proposed HPA", [3, 6], REPLICAS_PROPOSED_COLOR, true, "y"],
      ["CPU usage", [180.5, 420], "var(--warn)", false, USAGE_SCALE],
    ]);
    expect(chart.replicaRange).toEqual([0, 7]);
    expect(chart.lines[2]!.format!(420)).toBe("420m");
  });

  it("orders points by time and drops unparseable timestamps", () => {
    const chart = timelineChart([point("2026-11-26T12:01:00Z", 2, 4, 4), point("not a time", 9, 9, 9), point("2026-11-26T12:00:00Z", 1, 3, 2)]);
    expect(chart.times).toEqual([1795694400, 1795694460]);
    expect(chart.lines[0]!.values).toEqual([3, 4]);
    expect(chart.replicaRange).toEqual([0, 5]);
  });

  it("is empty for a recommendation without a timeline", () => {
    for (const empty of [[], null, undefined]) {
      const chart = timelineChart(empty);
      expect(chart.times).toEqual([]);
      expect(chart.lines.every((l) => l.values.length === 0)).toBe(true);
      expect(chart.replicaRange).toEqual([0, 2]);
    }
  });
});

describe("summaryRows", () => {
  it("formats both simulations side by side and judges the lower-is-better figures", () => {
    expect(summaryRows(CURRENT, PROPOSED).map((r) => [r.label, r.current, r.proposed, r.verdict])).toEqual([
      ["Replica-hours", "48.0", "52.5", "worse"],
      ["Cost over the replay", "$2.40", "$2.63", "worse"],
      ["Time at max replicas", "1h 00m", "0s", "better"],
      ["Time at min replicas", "0s", "10m", "neutral"],
      ["Scale events per hour", "1.50", "1.50", "same"],
      ["Peak CPU utilization", "140%", "95%", "neutral"],
      ["Time over the target", "30m", "2m", "better"],
    ]);
  });

  it("calls figures that print the same 'same', however they differ underneath", () => {
    const rows = summaryRows({ ...CURRENT, time_over_target_seconds: 360 }, { ...PROPOSED, time_over_target_seconds: 380 });
    expect(rows.find((r) => r.key === "time_over_target_seconds")).toMatchObject({ current: "6m", proposed: "6m", verdict: "same" });
  });

  it("is empty unless both simulations exist", () => {
    expect(summaryRows(CURRENT, null)).toEqual([]);
    expect(summaryRows(undefined, PROPOSED)).toEqual([]);
  });
});

describe("settingsChange", () => {
  it("lists the HPA settings, with an arrow only where they change", () => {
    const rec = {
      current: { min_replicas: 2, max_replicas: 5, target_cpu_utilization_percent: 70 },
      proposed: { min_replicas: 2, max_replicas: 6, target_cpu_utilization_percent: 60 },
    };
    expect(settingsChange(rec)).toBe("min 2 · max 5 → 6 · target 70% → 60%");
    expect(settingsChange({ current: null, proposed: null })).toBe("");
  });
});

describe("duration", () => {
  it("renders the two largest units", () => {
    expect([0, 45, 600, 3600, 3900, 90000, 200000, -120].map(duration)).toEqual(["0s", "45s", "10m", "1h 00m", "1h 05m", "25h 00m", "2d 7h", "−2m"]);
    expect(duration(null)).toBe("—");
  });
});

const caps = (overrides: Partial<Capabilities>): Capabilities => ({
  apply_enabled: false,
  token_required: false,
  apply_disabled_reason: "apply is disabled (set OPTIMIZER_APPLY_ENABLED=true and a token to enable it)",
  version: "0.1.0",
  source: "sqlite",
  ...overrides,
});

describe("applyAvailability", () => {
  it("enables the buttons only when the backend says apply works", () => {
    expect(applyAvailability(caps({ apply_enabled: true, token_required: true, apply_disabled_reason: null }), null)).toEqual({ mode: "enabled", reason: null });
  });

  it("shows the backend's reason when apply is off", () => {
    expect(applyAvailability(caps({}), null)).toEqual({
      mode: "disabled",
      reason: "Read-only backend: apply is disabled (set OPTIMIZER_APPLY_ENABLED=true and a token to enable it). Copy the command instead.",
    });
  });

  it("stays unknown (buttons disabled) while loading or when the capabilities cannot be read", () => {
    expect(applyAvailability(null, null)).toEqual({ mode: "unknown", reason: null });
    expect(applyAvailability(null, "the backend is unreachable")).toEqual({
      mode: "unknown",
      reason: "Cannot tell whether apply is allowed (the backend is unreachable); retrying when the connection is live.",
    });
  });
});

describe("shouldOfferToken", () => {
  const state = (status: ConnectionState["status"], attempt: number): ConnectionState => ({ status, attempt, staleSinceMs: null, nextRetryMs: null });
  const tokenBackend = caps({ apply_enabled: true, token_required: true, apply_disabled_reason: null });

  it("offers the token after the first refused attempt when the backend requires one", () => {
    expect(shouldOfferToken(state("reconnecting", 1), tokenBackend, false)).toBe(true);
    expect(shouldOfferToken(state("connecting", 0), tokenBackend, false)).toBe(false);
  });

  it("never offers it on a live socket, with a kept token, or when the backend needs none", () => {
    expect(shouldOfferToken(state("live", 0), tokenBackend, false)).toBe(false);
    expect(shouldOfferToken(state("reconnecting", 5), tokenBackend, true)).toBe(false);
    expect(shouldOfferToken(state("reconnecting", 5), caps({}), false)).toBe(false);
  });

  it("falls back to a few failed attempts when the capabilities are unknown", () => {
    expect(shouldOfferToken(state("reconnecting", 2), null, false)).toBe(false);
    expect(shouldOfferToken(state("reconnecting", 3), null, false)).toBe(true);
  });
});

describe("serviceFor", () => {
  it("links an HPA recommendation to the service whose workloads the HPA scales", () => {
    const echo = service("echo-demo", 3, { hpa: { name: "echo-demo-hpa", min_replicas: 2, max_replicas: 10, current_replicas: 3, desired_replicas: 3, current_cpu_utilization_percent: 40, target_cpu_utilization_percent: 50, able_to_scale: null, scaling_limited: null } });
    const other = service("other", 1);
    expect(serviceFor({ kind: "HorizontalPodAutoscaler", namespace: "k8s-optimizer", name: "echo-demo-hpa" }, [other, echo])?.name).toBe("echo-demo");
    expect(serviceFor({ kind: "HorizontalPodAutoscaler", namespace: "elsewhere", name: "echo-demo-hpa" }, [other, echo])).toBeNull();
    expect(serviceFor({ kind: "Deployment", namespace: "k8s-optimizer", name: "other" }, [other, echo])?.name).toBe("other");
  });
});

describe("scoreTitle", () => {
  it("explains the grade, and says when efficiency is only a placeholder", () => {
    const score = { efficiency: 50, reliability: 80, right_sizing: 50, overall: 65, letter: "D", efficiency_measured: false };
    expect(scoreTitle(score)).toBe("overall 65 · reliability 80 · right-sizing 50 · efficiency not measured yet (no usage reading; left out of overall)");
    expect(scoreTitle({ ...score, efficiency_measured: true })).toBe("overall 65 · reliability 80 · right-sizing 50 · efficiency 50");
  });
});

describe("workloadsWithFindings", () => {
  it("keeps workloads with findings, most findings first, then by name", () => {
    const workload = (name: string, diagnoses: number) =>
      ({ kind: "Deployment", namespace: "jobs", name, diagnoses }) as unknown as WorkloadSummary;
    const page = { items: [workload("ok", 0), workload("b", 1), workload("a", 1), workload("worst", 3)], next_cursor: null, total: 4 };
    expect(workloadsWithFindings(page).map((w) => w.name)).toEqual(["worst", "a", "b"]);
    expect(workloadsWithFindings(null)).toEqual([]);
  });
});
