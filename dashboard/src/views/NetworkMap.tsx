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
  d: string;
  kind: "pod" | "host";
  active: boolean;
}

interface LinkSpec {
  from: string; // data-link id of the left end
  to: string; // data-link id of the right end
  kind: "pod" | "host";
  owner: string; // the service key the link belongs to
}

/** Measures the linked elements after layout and returns SVG paths (left element's right edge → right element's left edge). */
function useLinks(container: { current: HTMLDivElement | null }, links: LinkSpec[], active: string | null, deps: unknown[]): Segment[] {
  const [segments, setSegments] = useState<Segment[]>([]);
  useLayoutEffect(() => {
    const root = container.current;
    if (!root) return;
    const measure = () => {
      const box = root.getBoundingClientRect();
      const rect = (id: string) => root.querySelector(`[data-link="${CSS.escape(id)}"]`)?.getBoundingClientRect();
      const next: Segment[] = [];
      for (const link of links) {
        const a = rect(link.from);
        const b = rect(link.to);
        if (!a || !b) continue;
        const x1 = a.right - box.left;
        const y1 = a.top + a.height / 2 - box.top;
        const x2 = b.left - box.left;
        const y2 = b.top + b.height / 2 - box.top;
        const mid = (x1 + x2) / 2;
        next.push({ d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, kind: link.kind, active: link.owner === active });
      }
      // Active links last, so they are drawn on top.
      next.sort((x, y) => Number(x.active) - Number(y.active));
      setSegments(next);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(root);
    return () => observer.disconnect();
  }, [active, ...deps]);
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
  const links: LinkSpec[] = [];
  for (const service of services) {
    const key = keyOf(service.namespace, service.name);
    for (const p of podsOf(service, pods)) links.push({ from: `svc:${key}`, to: `pod:${keyOf(p.namespace, p.name)}`, kind: "pod", owner: key });
    for (const port of service.ports) {
      if (port.host_port) links.push({ from: `host:${port.host_port}`, to: `svc:${key}`, kind: "host", owner: key });
    }
  }
  const segments = useLinks(container, links, active, [live.pods, live.services, live.nodes]);

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
            {segments.map((segment, index) => (
              <path key={index} class={`link link-${segment.kind}${segment.active ? " link-active" : ""}`} d={segment.d} />
            ))}
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
                  <li key={key} data-link={`svc:${key}`} onMouseEnter={() => setActive(key)} onMouseLeave={() => setActive(null)} onFocusIn={() => setActive(key)} onFocusOut={() => setActive(null)}>
                    <Link href={servicePath(service.namespace, service.name)} class={`chip chip-svc ${active === key ? "hl" : ""}`} testid={`map-service-${service.namespace}-${service.name}`}>
                      <span class="chip-inner">
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
                        {!pod.ready && <span class="muted">not ready</span>}
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
