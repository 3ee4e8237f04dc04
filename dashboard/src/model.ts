// Pure derivations the views draw: which pods back a service, where a request path enters, and the
// in-cluster path when the backend has none to offer. Kept apart from the components so they are unit-tested.

import type { ObjectRef, PathBranch, PathEndpoint, PodOut, RequestPath, ServiceDetail, ServicePath, ServiceSummary } from "./types";

/** Pods behind a service: those owned by one of the service's backing workloads. */
export function podsOf(service: ServiceSummary, pods: Iterable<PodOut>): PodOut[] {
  const owners = new Set(service.workloads.map((w) => `${w.kind}/${w.namespace}/${w.name}`));
  const result: PodOut[] = [];
  for (const pod of pods) {
    if (pod.owner && pod.namespace === service.namespace && owners.has(`${pod.owner.kind}/${pod.namespace}/${pod.owner.name}`)) result.push(pod);
  }
  return result;
}

/** Whether a recommendation's target is behind this service: one of its workloads, or the HPA scaling them. */
function fronts(service: ServiceSummary, target: ObjectRef): boolean {
  if (service.namespace !== target.namespace) return false;
  if (target.kind === "HorizontalPodAutoscaler") return service.hpa?.name === target.name;
  return service.workloads.some((w) => w.kind === target.kind && w.name === target.name);
}

/** The first service whose backing workloads (or their HPA) include `target` (recommendations link to it). */
export function serviceFor(target: ObjectRef, services: Iterable<ServiceSummary>): ServiceSummary | null {
  for (const service of services) {
    if (fronts(service, target)) return service;
  }
  return null;
}

/** When the backend has no /path answer, the in-cluster path can still be drawn from the detail itself. */
export function fallbackPath(detail: ServiceDetail): ServicePath {
  const port = detail.ports[0];
  const ready = detail.endpoint_addresses.filter((a) => a.ready);
  const targetPort = typeof port?.target_port === "number" ? port.target_port : port?.port ?? 0;
  return {
    service: { kind: "Service", namespace: detail.namespace, name: detail.name },
    dns_name: detail.dns_name,
    type: detail.type,
    cluster_ip: detail.cluster_ip,
    ports: detail.ports,
    endpoints: detail.endpoint_addresses.map((a) => ({ ip: a.ip, ports: [targetPort], ready: a.ready, pod: a.pod_name, node: a.node_name, node_ip: null })),
    kube_proxy: [],
    paths: [
      {
        kind: "cluster-ip",
        service_port: port?.port ?? 0,
        hops: [
          { kind: "client", label: "client pod", address: null, note: "any pod in the cluster", command: null },
          { kind: "dns", label: "CoreDNS", address: detail.dns_name, note: "resolves the name to the ClusterIP", command: null },
          { kind: "cluster-ip", label: "ClusterIP", address: `${detail.cluster_ip ?? "None"}:${port?.port ?? ""}`, note: "virtual service IP", command: null },
          { kind: "kube-proxy", label: "kube-proxy", address: null, note: "DNAT to one ready endpoint", command: null },
        ],
        branches: ready.map((a) => ({ target: `${a.ip}:${targetPort}`, probability: 1 / ready.length, cross_node: null, hops: [], rule_chain: null })),
      },
    ],
    verification_commands: [],
  };
}

/** Split a DNAT target "ip:port" (IPv6 addresses keep their colons). */
export function splitTarget(target: string): { ip: string; port: string } {
  const at = target.lastIndexOf(":");
  return at < 0 ? { ip: target, port: "" } : { ip: target.slice(0, at), port: target.slice(at + 1) };
}

/** Branches grouped by the node of their endpoint, in node-name order; unknown nodes last. */
export function branchesByNode(path: RequestPath, endpoints: PathEndpoint[]): [string, PathBranch[]][] {
  const nodeOf = new Map(endpoints.map((e) => [e.ip, e.node ?? "unscheduled"]));
  const groups = new Map<string, PathBranch[]>();
  for (const branch of path.branches) {
    const node = nodeOf.get(splitTarget(branch.target).ip) ?? "unknown node";
    groups.set(node, [...(groups.get(node) ?? []), branch]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}
