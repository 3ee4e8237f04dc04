// Network map: the design's three planes as a picture — nodes as boxes holding their pods (pod IPs),
// services (ClusterIPs) linked to the pods behind them, NodePorts linked to the host ports kind maps.
// Hovering or focusing a service highlights its whole path and draws its links.

import type { JSX } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";

import { Empty, Link, Loading, Section } from "../components/common";
import { useLive } from "../hooks";
import { servicePath } from "../router";
import { podsOf } from "../model";
import { keyOf } from "../store";
import type { PodOut } from "../types";

interface Segment {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  kind: string;
}

function useLinks(container: { current: HTMLDivElement | null }, from: string | null, to: string[], deps: unknown[]): Segment[] {
  const [segments, setSegments] = useState<Segment[]>([]);
  useLayoutEffect(() => {
    const root = container.current;
    if (!root || !from) {
      setSegments([]);
      return;
    }
    const box = root.getBoundingClientRect();
    const source = root.querySelector(`[data-link="${CSS.escape(from)}"]`)?.getBoundingClientRect();
    if (!source) return;
    const next: Segment[] = [];
    for (const id of to) {
      const target = root.querySelector(`[data-link="${CSS.escape(id)}"]`)?.getBoundingClientRect();
      if (!target) continue;
      const kind = id.startsWith("host:") ? "host" : "pod";
      const fromLeft = kind === "host";
      next.push({
        x1: (fromLeft ? source.left : source.right) - box.left,
        y1: source.top + source.height / 2 - box.top,
        x2: (fromLeft ? target.right : target.left) - box.left,
        y2: target.top + target.height / 2 - box.top,
        kind,
      });
    }
    setSegments(next);
  }, [from, ...deps]);
  return segments;
}

export function NetworkMap(): JSX.Element {
  const live = useLive();
  const [active, setActive] = useState<string | null>(null);
  const container = useRef<HTMLDivElement>(null);
  const services = [...live.services.values()].sort((a, b) => keyOf(a.namespace, a.name).localeCompare(keyOf(b.namespace, b.name)));
  const pods = [...live.pods.values()];
  const nodes = [...live.nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
  const activeService = active ? live.services.get(active) ?? null : null;
  const activePods = new Set(activeService ? podsOf(activeService, pods).map((p) => keyOf(p.namespace, p.name)) : []);
  const activeHostPorts = new Set(activeService ? activeService.ports.flatMap((p) => (p.host_port ? [p.host_port] : [])) : []);
  const hostMappings = services.flatMap((s) => s.ports.filter((p) => p.node_port && p.host_port).map((p) => ({ service: s, port: p })));
  const targets = [...[...activePods].map((k) => `pod:${k}`), ...[...activeHostPorts].map((p) => `host:${p}`)];
  const segments = useLinks(container, active ? `svc:${active}` : null, targets, [live.pods, live.services]);

  if (!live.synced) return <Loading what="network map" />;
  const podsByNode = new Map<string, PodOut[]>();
  for (const pod of pods) podsByNode.set(pod.node ?? "", [...(podsByNode.get(pod.node ?? "") ?? []), pod]);
  const unscheduled = podsByNode.get("") ?? [];

  return (
    <div class="page" data-testid="network-map">
      <h1>Network map</h1>
      <p class="muted">Hover or focus a service to see where its traffic lands: ClusterIP → kube-proxy DNAT → pod IPs on nodes; NodePorts link to host ports (kind extraPortMappings).</p>
      {services.length === 0 && nodes.length === 0 ? (
        <Empty>No nodes or services yet.</Empty>
      ) : (
        <div class="netmap" ref={container}>
          <svg class="netmap-links" aria-hidden="true">
            {segments.map((s, index) => {
              const mid = (s.x1 + s.x2) / 2;
              return <path key={index} class={`link link-${s.kind}`} d={`M${s.x1},${s.y1} C${mid},${s.y1} ${mid},${s.y2} ${s.x2},${s.y2}`} />;
            })}
          </svg>
          <div class="netmap-col netmap-host">
            <h2>Host</h2>
            {hostMappings.length === 0 ? (
              <Empty>No NodePort is mapped to a host port.</Empty>
            ) : (
              hostMappings.map(({ service, port }) => (
                <div key={`${service.name}-${port.node_port}`} class={`chip chip-host ${activeHostPorts.has(port.host_port!) ? "hl" : ""}`} data-link={`host:${port.host_port}`}>
                  <code>localhost:{port.host_port}</code>
                  <span class="muted"> → NodePort {port.node_port}</span>
                </div>
              ))
            )}
          </div>
          <div class="netmap-col netmap-services">
            <h2>Services</h2>
            <ul class="plain">
              {services.map((service) => {
                const key = keyOf(service.namespace, service.name);
                return (
                  <li key={key} onMouseEnter={() => setActive(key)} onMouseLeave={() => setActive(null)} onFocusIn={() => setActive(key)} onFocusOut={() => setActive(null)}>
                    <Link href={servicePath(service.namespace, service.name)} class={`chip chip-svc ${active === key ? "hl" : ""}`} testid={`map-service-${service.namespace}-${service.name}`}>
                      <span data-link={`svc:${key}`} class="chip-inner">
                        <strong>{service.name}</strong> <span class="muted">{service.namespace}</span>
                        <br />
                        <code>{service.cluster_ip ?? "headless"}</code>
                        {service.ports.some((p) => p.node_port) && <span class="muted"> · NodePort {service.ports.map((p) => p.node_port).filter(Boolean).join(",")}</span>}
                      </span>
                    </Link>
                  </li>
                );
              })}
            </ul>
          </div>
          <div class="netmap-col netmap-nodes">
            <h2>Nodes</h2>
            {nodes.map((node) => (
              <div class="node-box" key={node.name} data-testid={`map-node-${node.name}`}>
                <div class="node-box-head">
                  <strong>{node.name}</strong> <code>{node.internal_ip ?? "—"}</code> <span class="muted">pods {node.pod_cidr ?? "—"}</span>
                </div>
                <div class="pod-chips">
                  {(podsByNode.get(node.name) ?? []).map((pod) => {
                    const key = keyOf(pod.namespace, pod.name);
                    return (
                      <div key={key} class={`chip chip-pod ${activePods.has(key) ? "hl" : ""} ${pod.ready ? "" : "chip-unready"}`} data-link={`pod:${key}`} title={`${pod.namespace}/${pod.name}`}>
                        <span class="pod-name">{pod.name}</span>
                        <code>{pod.ip ?? "pending"}</code>
                      </div>
                    );
                  })}
                  {(podsByNode.get(node.name) ?? []).length === 0 && <span class="muted">no pods</span>}
                </div>
              </div>
            ))}
            {unscheduled.length > 0 && (
              <Section title={`Unscheduled (${unscheduled.length})`}>
                {unscheduled.map((pod) => (
                  <div key={pod.name} class="chip chip-pod chip-unready">
                    {pod.namespace}/{pod.name}
                  </div>
                ))}
              </Section>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
