import { describe, expect, it } from "vitest";

import { bytes, clock, cpu, field, label, pct, savings, usd } from "../src/format";
import { branchesByNode, fallbackPath, podsOf, splitTarget } from "../src/model";
import { parseRoute, servicePath } from "../src/router";
import type { ServiceDetail } from "../src/types";
import { sortRecommendations } from "../src/views/Recommendations";
import { sortServices } from "../src/views/Services";
import { pod, recommendation, service } from "./fixtures";

describe("parseRoute", () => {
  it("maps every view URL, including deep links with encoded names", () => {
    expect(parseRoute("/")).toEqual({ view: "overview" });
    expect(parseRoute("/services")).toEqual({ view: "services" });
    expect(parseRoute("/services/k8s-optimizer/echo-demo")).toEqual({ view: "service", namespace: "k8s-optimizer", name: "echo-demo" });
    expect(parseRoute(servicePath("a b", "c/d"))).toEqual({ view: "service", namespace: "a b", name: "c/d" });
    expect(parseRoute("/recommendations/")).toEqual({ view: "recommendations" });
    expect(parseRoute("/network")).toEqual({ view: "network" });
    expect(parseRoute("/services/x")).toEqual({ view: "not-found", path: "/services/x" });
  });
});

describe("sorting", () => {
  it("sorts services by a column, ties broken by namespace/name, and reverses for descending", () => {
    const rows = [service("b", 3), service("a", 1), service("c", 3)];
    expect(sortServices(rows, "endpoints", false).map((s) => s.name)).toEqual(["a", "b", "c"]);
    expect(sortServices(rows, "endpoints", true).map((s) => s.name)).toEqual(["c", "b", "a"]);
    expect(sortServices(rows, "name", false).map((s) => s.name)).toEqual(["a", "b", "c"]);
  });

  it("sorts recommendations by savings or by priority then savings", () => {
    const recs = [recommendation("low-big", "low", 50), recommendation("high-small", "high", 5), recommendation("high-big", "high", 20)];
    expect(sortRecommendations(recs, "savings").map((r) => r.id)).toEqual(["low-big", "high-big", "high-small"]);
    expect(sortRecommendations(recs, "priority").map((r) => r.id)).toEqual(["high-big", "high-small", "low-big"]);
  });
});

describe("model", () => {
  it("finds the pods behind a service through their owning workload", () => {
    const echo = service("echo-demo", 2);
    const other = { ...pod("web-1", "10.244.1.9"), owner: { kind: "Deployment", namespace: "k8s-optimizer", name: "web" } };
    const elsewhere = { ...pod("echo-x", "10.244.1.8"), namespace: "other" };
    expect(podsOf(echo, [pod("echo-1", "10.244.1.2"), other, elsewhere]).map((p) => p.name)).toEqual(["echo-1"]);
  });

  it("builds the in-cluster path from a detail when the backend has none: ready endpoints share traffic", () => {
    const detail = {
      ...service("echo-demo", 2),
      endpoint_addresses: [
        { ip: "10.244.1.2", ready: true, pod_name: "echo-1", node_name: "worker" },
        { ip: "10.244.2.3", ready: true, pod_name: "echo-2", node_name: "worker2" },
        { ip: "10.244.2.4", ready: false, pod_name: "echo-3", node_name: "worker2" },
      ],
    } as unknown as ServiceDetail;
    const built = fallbackPath(detail);
    const path = built.paths[0]!;
    expect(path.hops.map((h) => h.kind)).toEqual(["client", "dns", "cluster-ip", "kube-proxy"]);
    expect(path.branches.map((b) => [b.target, b.probability])).toEqual([["10.244.1.2:8080", 0.5], ["10.244.2.3:8080", 0.5]]);
    expect(built.endpoints.filter((e) => !e.ready).map((e) => e.ip)).toEqual(["10.244.2.4"]);
    expect(branchesByNode(path, built.endpoints).map(([node, branches]) => [node, branches.length])).toEqual([["worker", 1], ["worker2", 1]]);
  });

  it("splits DNAT targets, IPv6 included", () => {
    expect(splitTarget("10.244.1.2:80")).toEqual({ ip: "10.244.1.2", port: "80" });
    expect(splitTarget("fd00::1:8080")).toEqual({ ip: "fd00::1", port: "8080" });
  });
});

describe("format", () => {
  it("renders units and dashes for missing values", () => {
    expect(cpu(250)).toBe("250m");
    expect(cpu(1500)).toBe("1.50 cores");
    expect(cpu(null)).toBe("—");
    expect(bytes(128 * 1024 * 1024)).toBe("128 MiB");
    expect(bytes(1536)).toBe("1.5 KiB");
    expect(pct(49.6)).toBe("50%");
    expect(usd(1234.5)).toBe("$1,234.50");
    expect(savings(12.5)).toEqual({ text: "$12.50/mo saved", tone: "money" });
    expect(savings(-1.93)).toEqual({ text: "+$1.93/mo cost", tone: "cost" });
    expect(savings(0)).toEqual({ text: "no cost change", tone: "muted" });
    expect(field("memory_request_bytes", 64 * 1024 * 1024)).toBe("64.0 MiB");
    expect(label("cpu_request_millicores")).toBe("CPU request");
    expect(label("min_replicas")).toBe("Min replicas");
    expect(clock(null)).toBe("—");
    expect(clock(new Date(2026, 0, 1, 9, 5, 7).getTime())).toBe("09:05:07");
  });
});
