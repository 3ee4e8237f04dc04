// Hand-built wire objects for the unit tests, in the exact shapes of backend/k8s_optimizer/api/schemas.py.

import type { PodOut, Recommendation, ServiceSummary } from "../src/types";

export function service(name: string, ready: number, overrides: Partial<ServiceSummary> = {}): ServiceSummary {
  return {
    namespace: "k8s-optimizer",
    name,
    type: "ClusterIP",
    cluster_ip: "10.96.0.10",
    dns_name: `${name}.k8s-optimizer.svc.cluster.local`,
    ports: [{ name: "http", port: 80, target_port: 8080, protocol: "TCP", node_port: null, host_port: null }],
    selector: { app: name },
    endpoints: { ready, not_ready: 0 },
    workloads: [{ kind: "Deployment", namespace: "k8s-optimizer", name, replicas: ready, ready_replicas: ready }],
    hpa: null,
    resources: {
      cpu_usage_millicores: 50,
      cpu_request_millicores: 200,
      cpu_limit_millicores: null,
      memory_usage_bytes: 64 * 1024 * 1024,
      memory_request_bytes: 128 * 1024 * 1024,
      memory_limit_bytes: null,
      cpu_utilization_percent: 25,
      memory_utilization_percent: 50,
    },
    score: null,
    open_recommendations: 0,
    diagnoses: 0,
    labels: {},
    created_at: null,
    ...overrides,
  };
}

export function pod(name: string, ip: string): PodOut {
  return {
    namespace: "k8s-optimizer",
    name,
    ip,
    node: "worker",
    host_ip: "172.20.0.2",
    phase: "Running",
    ready: true,
    restarts: 0,
    owner: { kind: "Deployment", namespace: "k8s-optimizer", name: "echo-demo" },
    containers: [],
    resources: service("x", 1).resources,
    unschedulable_message: null,
    deleting: false,
    created_at: null,
  };
}

export function recommendation(id: string, priority: Recommendation["priority"], savings: number): Recommendation {
  return {
    id,
    target: { kind: "Deployment", namespace: "k8s-optimizer", name: id },
    container: "app",
    kind: "resources",
    priority,
    severity: "warning",
    savings_monthly_usd: savings,
    confidence: 0.9,
    rationale: "p95 usage is far below the request",
    current: { cpu_request_millicores: 500 },
    proposed: { cpu_request_millicores: 100 },
    bounds: null,
    patch: {},
    patch_yaml: "spec: {}\n",
    kubectl_command: "kubectl patch deployment x",
    verify_commands: [],
    simulation_current: null,
    simulation_proposed: null,
    applicable: true,
    timeline: [],
    not_applicable_reason: null,
    stale: false,
  };
}
