import { describe, expect, it, vi } from "vitest";

import { Store, emptyState, keyOf, reduce } from "../src/store";
import type { ServerMessage } from "../src/types";
import { pod, recommendation, service } from "./fixtures";

const snapshot = (seq: number, data: Record<string, unknown>, topics = Object.keys(data)): ServerMessage =>
  ({ type: "snapshot", epoch: "e1", seq, reason: "subscribe", topics, namespace: null, data }) as ServerMessage;

describe("reduce", () => {
  it("replaces the subscribed topics from a snapshot and records its seq", () => {
    const state = reduce(emptyState(), snapshot(7, { services: [service("echo-demo", 2), service("web", 3)], pods: [pod("p1", "10.244.1.2")] }));
    expect(state.seq).toBe(7);
    expect(state.synced).toBe(true);
    expect([...state.services.keys()]).toEqual(["k8s-optimizer/echo-demo", "k8s-optimizer/web"]);
    expect(state.pods.get("k8s-optimizer/p1")?.ip).toBe("10.244.1.2");
  });

  it("replaces everything from another epoch's snapshot: a restarted backend leaves no ghosts, even at a lower seq", () => {
    let state = reduce(emptyState(), snapshot(1917, { pods: [pod("p1", "10.244.1.2"), pod("deleted-meanwhile", "10.244.1.3")] }));
    const restarted = { ...snapshot(3, { pods: [pod("p1", "10.244.1.2"), pod("p3", "10.244.2.4")] }), epoch: "e2", reason: "epoch-changed" };
    state = reduce(state, restarted as ServerMessage);
    expect([...state.pods.keys()]).toEqual(["k8s-optimizer/p1", "k8s-optimizer/p3"]);
    expect(state.seq).toBe(3);
  });

  it("treats a topic named in a snapshot without data as empty, and keeps topics it does not name", () => {
    let state = reduce(emptyState(), snapshot(1, { services: [service("a", 1)], pods: [pod("p1", "10.244.1.2")] }));
    state = reduce(state, snapshot(2, { services: null }, ["services"]));
    expect(state.services.size).toBe(0);
    expect(state.pods.size).toBe(1);
  });

  it("applies a modified service delta in place and leaves other rows untouched (same object)", () => {
    const before = reduce(emptyState(), snapshot(1, { services: [service("echo-demo", 2), service("web", 3)] }));
    const after = reduce(before, {
      type: "delta",
      epoch: "e1",
      seq: 2,
      topic: "services",
      change: "modified",
      kind: "Service",
      namespace: "k8s-optimizer",
      name: "echo-demo",
      object: service("echo-demo", 6) as unknown as Record<string, unknown>,
    });
    expect(after.services.get("k8s-optimizer/echo-demo")?.endpoints.ready).toBe(6);
    expect(after.services.get("k8s-optimizer/web")).toBe(before.services.get("k8s-optimizer/web"));
    expect(after.seq).toBe(2);
    expect(after.serviceRevisions.get("k8s-optimizer/echo-demo")).toBe((before.serviceRevisions.get("k8s-optimizer/echo-demo") ?? 0) + 1);
    expect(after.serviceRevisions.get("k8s-optimizer/web")).toBe(before.serviceRevisions.get("k8s-optimizer/web"));
  });

  it("removes an object on a deleted delta and adds one on added", () => {
    let state = reduce(emptyState(), snapshot(1, { pods: [pod("p1", "10.244.1.2")] }));
    state = reduce(state, { type: "delta", epoch: "e1", seq: 2, topic: "pods", change: "added", kind: "Pod", namespace: "k8s-optimizer", name: "p2", object: pod("p2", "10.244.2.3") as unknown as Record<string, unknown> });
    state = reduce(state, { type: "delta", epoch: "e1", seq: 3, topic: "pods", change: "deleted", kind: "Pod", namespace: "k8s-optimizer", name: "p1", object: null });
    expect([...state.pods.keys()]).toEqual(["k8s-optimizer/p2"]);
  });

  it("ignores a services-topic delta about another kind (e.g. Endpoints)", () => {
    const before = reduce(emptyState(), snapshot(1, { services: [service("a", 1)] }));
    const after = reduce(before, { type: "delta", epoch: "e1", seq: 2, topic: "services", change: "modified", kind: "Endpoints", namespace: "k8s-optimizer", name: "a", object: {} });
    expect(after.services).toBe(before.services);
  });

  it("updates service usage and utilization from a metrics tick", () => {
    const before = reduce(emptyState(), snapshot(1, { services: [service("echo-demo", 2)] }));
    const after = reduce(before, {
      type: "metrics",
      epoch: "e1",
      seq: 1,
      timestamp: "2026-11-26T20:00:00Z",
      pods: [{ namespace: "k8s-optimizer", name: "p1", cpu_millicores: 30, memory_bytes: 1024 }],
      services: [{ namespace: "k8s-optimizer", name: "echo-demo", cpu_millicores: 150, memory_bytes: 32 * 1024 * 1024, cpu_request_millicores: 200, memory_request_bytes: 128 * 1024 * 1024 }],
    });
    const resources = after.services.get("k8s-optimizer/echo-demo")!.resources;
    expect(resources.cpu_usage_millicores).toBe(150);
    expect(resources.cpu_utilization_percent).toBe(75);
    expect(resources.memory_utilization_percent).toBe(25);
    expect(after.podUsage.get("k8s-optimizer/p1")?.cpu_millicores).toBe(30);
    expect(after.metricsAt).toBe("2026-11-26T20:00:00Z");
  });

  it("ignores metrics for unknown services and null requests give null utilization", () => {
    const before = reduce(emptyState(), snapshot(1, { services: [service("a", 1, { resources: { ...service("a", 1).resources, cpu_request_millicores: null } })] }));
    const after = reduce(before, {
      type: "metrics",
      epoch: "e1",
      seq: 2,
      timestamp: null,
      pods: [],
      services: [
        { namespace: "k8s-optimizer", name: "a", cpu_millicores: 10, memory_bytes: 1, cpu_request_millicores: null, memory_request_bytes: null },
        { namespace: "other", name: "ghost", cpu_millicores: 10, memory_bytes: 1, cpu_request_millicores: null, memory_request_bytes: null },
      ],
    });
    expect(after.services.get("k8s-optimizer/a")!.resources.cpu_utilization_percent).toBeNull();
    expect(after.services.has("other/ghost")).toBe(false);
  });

  it("replaces recommendations and anomalies lists; an error message is recorded, not thrown", () => {
    let state = reduce(emptyState(), { type: "recommendations", epoch: "e1", seq: 3, items: [recommendation("r1", "high", 10)], added: ["r1"], removed: [] });
    expect(state.recommendations.map((r) => r.id)).toEqual(["r1"]);
    state = reduce(state, { type: "recommendations", epoch: "e1", seq: 4, items: [], added: [], removed: ["r1"] });
    expect(state.recommendations).toEqual([]);
    state = reduce(state, { type: "error", epoch: "e1", seq: 4, code: "bad-json", detail: "frame is not JSON" });
    expect(state.lastError).toBe("bad-json: frame is not JSON");
  });

  it("records HPA current vs desired over time from snapshots, hpa deltas and metrics ticks", () => {
    const hpa = (current: number, desired: number) => ({
      namespace: "k8s-optimizer",
      name: "echo-demo-hpa",
      target: { kind: "Deployment", namespace: "k8s-optimizer", name: "echo-demo" },
      min_replicas: 2,
      max_replicas: 10,
      current_replicas: current,
      desired_replicas: desired,
      current_cpu_utilization_percent: 40,
      conditions: [],
    });
    let state = reduce(emptyState(), snapshot(1, { hpa: [hpa(3, 3)] }), 1000);
    state = reduce(state, { type: "delta", epoch: "e1", seq: 2, topic: "hpa", change: "modified", kind: "HorizontalPodAutoscaler", namespace: "k8s-optimizer", name: "echo-demo-hpa", object: hpa(3, 5) }, 2000);
    state = reduce(state, { type: "metrics", epoch: "e1", seq: 2, timestamp: null, pods: [], services: [] }, 3000); // unchanged, too soon
    state = reduce(state, { type: "metrics", epoch: "e1", seq: 2, timestamp: null, pods: [], services: [] }, 7000); // unchanged, 5 s on
    expect(state.hpaHistory.get("k8s-optimizer/echo-demo-hpa")).toEqual([
      { tMs: 1000, current: 3, desired: 3 },
      { tMs: 2000, current: 3, desired: 5 },
      { tMs: 7000, current: 3, desired: 5 },
    ]);
    state = reduce(state, { type: "delta", epoch: "e1", seq: 3, topic: "hpa", change: "deleted", kind: "HorizontalPodAutoscaler", namespace: "k8s-optimizer", name: "echo-demo-hpa", object: null }, 4000);
    expect(state.hpaHistory.has("k8s-optimizer/echo-demo-hpa")).toBe(false);
  });

  it("returns the same state for heartbeats and pongs (no re-render)", () => {
    const state = emptyState();
    expect(reduce(state, { type: "heartbeat", epoch: "e1", seq: 1, at: "x" })).toBe(state);
    expect(reduce(state, { type: "pong", epoch: "e1", seq: 1 })).toBe(state);
  });
});

describe("Store", () => {
  it("notifies listeners on change only and stops after unsubscribe", () => {
    const store = new Store();
    const listener = vi.fn();
    const unsubscribe = store.subscribe(listener);
    store.apply({ type: "heartbeat", epoch: "e1", seq: 1, at: "x" });
    expect(listener).not.toHaveBeenCalled();
    store.apply(snapshot(1, { services: [service("a", 1)] }));
    expect(listener).toHaveBeenCalledTimes(1);
    unsubscribe();
    store.apply(snapshot(2, { services: [] }));
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.current.services.size).toBe(0);
    expect(keyOf("ns", "n")).toBe("ns/n");
  });
});
