// Service detail: the live traffic path drawn the way the design explains it (client → DNS → ClusterIP or
// NodePort → kube-proxy DNAT → endpoints → pods on nodes), per-pod usage charts with request/limit lines,
// HPA behaviour, checks and a diagnosis with the kubectl commands that show the evidence. Refetched whenever
// the WebSocket reports a change to this service, its pods or its endpoints.

import { Fragment, type JSX } from "preact";
import { useState } from "preact/hooks";

import { Chart, type Line } from "../components/Chart";
import { HpaTimeline } from "../components/HpaTimeline";
import { ReachabilitySection, RulesSection } from "../components/NetworkRules";
import { Badge, CodeBlock, Empty, ErrorBox, Link, Loading, ScrollBox, Section, gradeTone, priorityTone } from "../components/common";
import { bytes, cpu, pct, savings, scoreTitle } from "../format";
import { rovingIndex } from "../focus";
import { useFetch, useLive, useThrottled } from "../hooks";
import type { Route } from "../router";
import { keyOf } from "../store";
import { branchesByNode, fallbackPath, splitTarget } from "../model";
import type { PathBranch, PathEndpoint, PathHop, PodOut, RequestPath, ServiceDetail as Detail, ServicePath, TimeSeries } from "../types";

const PATH_LABEL: Record<string, string> = {
  "cluster-ip": "In-cluster (ClusterIP)",
  "node-port": "From outside (NodePort)",
  "load-balancer": "From outside (LoadBalancer)",
  headless: "Headless (DNS answers pod IPs)",
  "external-name": "ExternalName (DNS CNAME)",
  ingress: "From outside (Ingress)",
};

function Hop(props: { hop: PathHop }): JSX.Element {
  const { hop } = props;
  return (
    <li class={`hop hop-${hop.kind.replace(/[^a-z]/g, "")}`} title={hop.command ?? undefined}>
      <div class="hop-kind">{hop.kind}</div>
      <div class="hop-label">{hop.label}</div>
      {hop.address && <code class="hop-address">{hop.address}</code>}
      <div class="hop-detail">{hop.note}</div>
    </li>
  );
}

function Branch(props: { branch: PathBranch; endpoints: PathEndpoint[] }): JSX.Element {
  const { ip, port } = splitTarget(props.branch.target);
  const pod = props.endpoints.find((e) => e.ip === ip)?.pod ?? props.branch.hops.find((h) => h.kind === "pod")?.label;
  return (
    <div class="target" data-testid="path-target">
      <code data-testid="path-pod-ip">{ip}</code>
      <span class="muted">:{port}</span>
      <span class="target-pod">{pod ?? ""}</span>
      {props.branch.cross_node && (
        <Badge tone="warn" title="the packet crosses to another node: CNI routing between nodes">
          cross-node
        </Badge>
      )}
      <span class="prob" title="share of new connections (kube-proxy DNAT probability)">
        {(props.branch.probability * 100).toFixed(1)}%
      </span>
      {props.branch.rule_chain && (
        <a class="rule-link" href="#rules-section" data-testid="path-rule-link" title="the DNAT rule in the kube-proxy rules below">
          {props.branch.rule_chain}
        </a>
      )}
    </div>
  );
}

function TrafficPath(props: { path: RequestPath; endpoints: PathEndpoint[] }): JSX.Element {
  const { path, endpoints } = props;
  const groups = branchesByNode(path, endpoints);
  const unready = endpoints.filter((e) => !e.ready);
  return (
    <div class="path" data-testid="traffic-path">
      <ol class="hops">
        {path.hops.map((hop, index) => (
          <Hop key={index} hop={hop} />
        ))}
        <li class="hop hop-targets">
          <div class="hop-kind">DNAT → endpoints → pods on nodes</div>
          {path.branches.length === 0 && path.kind !== "external-name" && (
            <div class="util-hot">
              {path.hops.find((h) => h.note.includes("dropped"))?.note ?? "No ready endpoints: connections are refused"}
            </div>
          )}
          {groups.map(([node, branches]) => (
            <div class="target-node" key={node}>
              <div class="target-node-name">{node}</div>
              {branches.map((branch) => (
                <Branch key={branch.target} branch={branch} endpoints={endpoints} />
              ))}
            </div>
          ))}
          {unready.map((e) => (
            <div class="target target-unready" key={e.ip}>
              <code>{e.ip}</code>
              <span class="target-pod">{e.pod ?? ""}</span>
              <span class="prob">not ready</span>
            </div>
          ))}
        </li>
      </ol>
    </div>
  );
}

function ProxyRules(props: { path: ServicePath; port: number }): JSX.Element | null {
  const chain = props.path.kube_proxy.find((k) => k.service_port === props.port);
  if (!chain || chain.rules.length === 0) return null;
  return (
    <ScrollBox label={`kube-proxy rules for port ${props.port}`}>
    <table class="table compact" data-testid="proxy-rules">
      <caption>kube-proxy rules for port {props.port}: rule i of n matches with probability 1/(n−i), so each endpoint gets 1/n</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">DNAT to</th>
          <th scope="col">Pod</th>
          <th scope="col">Node</th>
          <th scope="col">--probability</th>
          <th scope="col">Share</th>
        </tr>
      </thead>
      <tbody>
        {chain.rules.map((rule) => (
          <tr key={rule.index}>
            <td>{rule.index + 1}</td>
            <td>
              <code>{rule.target}</code>
            </td>
            <td>{rule.pod ?? "—"}</td>
            <td>{rule.node ?? "—"}</td>
            <td>{rule.rule_probability.toFixed(5)}</td>
            <td>{(rule.probability * 100).toFixed(1)}%</td>
          </tr>
        ))}
      </tbody>
    </table>
    </ScrollBox>
  );
}

function PathSection(props: { namespace: string; name: string; detail: Detail; revision: number }): JSX.Element {
  const fetched = useFetch<ServicePath>(`/api/v1/services/${encodeURIComponent(props.namespace)}/${encodeURIComponent(props.name)}/path`, props.revision);
  const servicePathData = fetched.data?.paths.length ? fetched.data : fallbackPath(props.detail);
  const paths = servicePathData.paths;
  const [selected, setSelected] = useState(0);
  const shown = Math.min(selected, paths.length - 1);
  const path = paths[shown]!;
  const onTabKey = (event: KeyboardEvent) => {
    const next = rovingIndex(event.key, shown, paths.length);
    if (next === null) return;
    event.preventDefault();
    setSelected(next);
    document.getElementById(`path-tab-${next}`)?.focus();
  };
  const commands = servicePathData.verification_commands;
  return (
    <Section title="Traffic path" testid="traffic-path-section">
      {paths.length > 1 && (
        <div class="tabs" role="tablist" aria-label="Entry point" onKeyDown={onTabKey}>
          {paths.map((p, index) => (
            <button
              key={index}
              id={`path-tab-${index}`}
              type="button"
              role="tab"
              aria-selected={index === shown}
              aria-controls="path-panel"
              tabIndex={index === shown ? 0 : -1}
              class={index === shown ? "tab active" : "tab"}
              onClick={() => setSelected(index)}
            >
              {PATH_LABEL[p.kind] ?? p.kind} · port {p.service_port}
            </button>
          ))}
        </div>
      )}
      <div id="path-panel" role={paths.length > 1 ? "tabpanel" : undefined} aria-labelledby={paths.length > 1 ? `path-tab-${shown}` : undefined}>
        <TrafficPath path={path} endpoints={servicePathData.endpoints} />
        <ProxyRules path={servicePathData} port={path.service_port} />
      </div>
      {commands.length > 0 && <CodeBlock code={commands.join("\n")} label="Verify each hop" testid="path-commands" />}
    </Section>
  );
}

// Theme colours (styles.css), each with 3:1 against the chart in its theme.
const PALETTE = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `var(--series-${n})`);

/** Chart lines of a TimeSeries: one per pod (average per step), plus the per-pod request and limit. */
export function seriesLines(series: TimeSeries | null, metric: string): { times: number[]; lines: Line[] } {
  if (!series || series.total.length === 0) return { times: [], lines: [] };
  const times = series.total.map((p) => p.t);
  const index = new Map(times.map((t, i) => [t, i]));
  const pods = Object.entries(series.per_pod);
  const lines: Line[] =
    metric === "replicas" || pods.length === 0
      ? [
          { label: metric === "replicas" ? "replicas (avg)" : "total (avg)", values: series.total.map((p) => p.avg), color: "var(--warn)" },
          { label: metric === "replicas" ? "replicas (max)" : "total (max)", values: series.total.map((p) => p.max), color: "var(--bad)", dash: [4, 3] },
        ]
      : pods.slice(0, PALETTE.length).map(([pod, points], i) => {
          const values: (number | null)[] = times.map(() => null);
          for (const point of points) {
            const at = index.get(point.t);
            if (at !== undefined) values[at] = point.avg;
          }
          return { label: pod.replace(/^.*\//, ""), values, color: PALETTE[i]! };
        });
  if (metric !== "replicas" && series.request_per_pod !== null) lines.push({ label: "request", values: times.map(() => series.request_per_pod), color: "var(--good)", dash: [6, 4] });
  if (metric !== "replicas" && series.limit_per_pod !== null) lines.push({ label: "limit", values: times.map(() => series.limit_per_pod), color: "var(--bad)", dash: [2, 4] });
  return { times, lines };
}

function MetricChart(props: { target: string; metric: "cpu" | "memory" | "replicas"; title: string; revision: unknown }): JSX.Element {
  const fetched = useFetch<TimeSeries>(`/api/v1/metrics/timeseries?target=${encodeURIComponent(props.target)}&metric=${props.metric}&window=1h`, props.revision);
  const { times, lines } = seriesLines(fetched.data, props.metric);
  if (fetched.error && !fetched.data) return <div class="chart chart-empty">{props.title}: {fetched.error}</div>;
  if (!fetched.data) return <div class="chart chart-empty">Loading {props.title}…</div>;
  if (times.length < 2) return <div class="chart chart-empty">{props.title}: collecting samples ({times.length} so far)</div>;
  const format = props.metric === "cpu" ? cpu : props.metric === "memory" ? bytes : (v: number) => v.toFixed(0);
  return <Chart title={props.title} times={times} lines={lines} format={format} integerY={props.metric === "replicas"} testid={`chart-${props.metric}`} />;
}

function PodsSection(props: { pods: PodOut[]; workload: string | null; revision: unknown }): JSX.Element {
  const live = useLive();
  return (
    <Section title={`Pods (${props.pods.length})`} testid="pods">
      {props.pods.length === 0 ? (
        <Empty>No pods back this service.</Empty>
      ) : (
        <ScrollBox label="Pods table">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Pod</th>
                <th scope="col">IP</th>
                <th scope="col">Node</th>
                <th scope="col">Phase</th>
                <th scope="col">Restarts</th>
                <th scope="col">CPU used / req / limit</th>
                <th scope="col">Memory used / req / limit</th>
              </tr>
            </thead>
            <tbody>
              {props.pods.map((pod) => {
                const usage = live.podUsage.get(keyOf(pod.namespace, pod.name));
                const r = pod.resources;
                return (
                  <tr key={pod.name} data-testid={`pod-row-${pod.name}`}>
                    <td>{pod.name}</td>
                    <td>
                      <code data-testid="pod-ip">{pod.ip ?? "—"}</code>
                    </td>
                    <td>{pod.node ?? "—"}</td>
                    <td>
                      <Badge tone={pod.ready ? "good" : "warn"}>{pod.ready ? pod.phase : `${pod.phase} (not ready)`}</Badge>
                    </td>
                    <td class={pod.restarts > 0 ? "util-hot" : ""}>{pod.restarts}</td>
                    <td>
                      {cpu(usage?.cpu_millicores ?? r.cpu_usage_millicores)} / {cpu(r.cpu_request_millicores)} / {cpu(r.cpu_limit_millicores)}
                    </td>
                    <td>
                      {bytes(usage?.memory_bytes ?? r.memory_usage_bytes)} / {bytes(r.memory_request_bytes)} / {bytes(r.memory_limit_bytes)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollBox>
      )}
      {props.workload && (
        <div class="chart-grid">
          <MetricChart target={props.workload} metric="cpu" title="CPU per pod (last hour)" revision={props.revision} />
          <MetricChart target={props.workload} metric="memory" title="Memory per pod (last hour)" revision={props.revision} />
        </div>
      )}
    </Section>
  );
}

/** Current vs desired replicas as the WebSocket reported them since this page was opened (a step line). */
function LiveHpaChart(props: { hpaKey: string }): JSX.Element {
  const live = useLive();
  const points = live.hpaHistory.get(props.hpaKey) ?? [];
  if (points.length < 2) return <div class="chart chart-empty">HPA current vs desired: recording live ({points.length} sample so far)</div>;
  const times = points.map((p) => p.tMs / 1000);
  const lines: Line[] = [
    { label: "current", values: points.map((p) => p.current), color: "var(--series-1)", step: true },
    { label: "desired", values: points.map((p) => p.desired), color: "var(--warn)", dash: [6, 4], step: true },
  ];
  return <Chart title="HPA current vs desired replicas (live, since this page opened)" times={times} lines={lines} format={(v) => v.toFixed(0)} integerY testid="chart-hpa-live" />;
}

function HpaSection(props: { detail: Detail; revision: unknown }): JSX.Element | null {
  const hpa = props.detail.hpa_detail;
  const workload = props.detail.workloads[0];
  const live = useLive();
  const fetched = props.detail.recommendations.find((r) => r.kind === "hpa");
  // The WebSocket pushes every new analysis: prefer its copy so the simulation follows new history.
  const hpaRec = (fetched && live.recommendations.find((r) => r.id === fetched.id)) ?? fetched;
  if (!hpa && !hpaRec) return null;
  return (
    <Section title="Autoscaling" testid="hpa">
      {hpa && (
        <div class="kv kv-wide">
          <span>HPA</span>
          <span>{hpa.name}</span>
          <span>Replicas (min / current / desired / max)</span>
          <span data-testid="hpa-replicas">
            {hpa.min_replicas} / {hpa.current_replicas ?? "—"} / {hpa.desired_replicas ?? "—"} / {hpa.max_replicas}
          </span>
          <span>CPU utilization</span>
          <span>{pct(hpa.current_cpu_utilization_percent)}</span>
          {hpa.conditions.map((c) => (
            <Fragment key={c.type}>
              <span>{c.type}</span>
              <span>
                <Badge tone={c.status === "True" ? "good" : "warn"} title={`status ${c.status}`}>
                  <span aria-hidden="true">{c.status === "True" ? "✓ " : "✗ "}</span>
                  <span class="sr-only">{c.status}: </span>
                  {c.reason}
                </Badge>{" "}
                {c.message}
              </span>
            </Fragment>
          ))}
        </div>
      )}
      {hpa && <LiveHpaChart hpaKey={keyOf(hpa.namespace, hpa.name)} />}
      {workload && <MetricChart target={`${workload.kind}/${workload.namespace}/${workload.name}`} metric="replicas" title="Replicas over time (last hour, from history)" revision={props.revision} />}
      {hpaRec && <HpaTimeline rec={hpaRec} showSettings />}
    </Section>
  );
}

function ChecksSection(props: { detail: Detail }): JSX.Element {
  const failed = props.detail.checks.filter((c) => !c.passed);
  const passed = props.detail.checks.length - failed.length;
  return (
    <Section title="Diagnosis and checks" testid="checks">
      {props.detail.diagnosis.length === 0 && failed.length === 0 && <Empty>No findings: {passed} checks pass.</Empty>}
      {props.detail.diagnosis.map((d) => (
        <div class={`finding finding-${d.severity}`} key={d.id} data-testid="diagnosis">
          <div>
            <Badge tone={d.severity === "danger" ? "bad" : d.severity === "warning" ? "warn" : "info"}>{d.severity}</Badge> <strong>{d.message}</strong>
          </div>
          <div class="muted">Fix: {d.fix}</div>
          <CodeBlock code={d.evidence_command} label="Evidence" />
        </div>
      ))}
      {failed.map((c) => (
        <div class={`finding finding-${c.severity}`} key={`${c.id}-${c.container ?? ""}`} data-testid="check">
          <Badge tone={c.severity === "danger" ? "bad" : c.severity === "warning" ? "warn" : "info"}>{c.id}</Badge> {c.message}
          {c.container && <span class="muted"> (container {c.container})</span>}
          <div class="muted">Fix: {c.fix}</div>
        </div>
      ))}
      {failed.length > 0 && <p class="muted">{passed} other checks pass.</p>}
    </Section>
  );
}

function Header(props: { detail: Detail }): JSX.Element {
  const d = props.detail;
  return (
    <div class="detail-head">
      <div>
        <div class="crumbs">
          <Link href="/services" testid="crumb-services">
            Services
          </Link>{" "}
          / {d.namespace}
        </div>
        <h1>
          {d.name} <Badge tone="info">{d.type}</Badge>{" "}
          {d.score && (
            <Badge tone={gradeTone(d.score.letter)} title={scoreTitle(d.score)}>
              <span class="sr-only">grade </span>
              {d.score.letter}
            </Badge>
          )}
        </h1>
        <div class="kv kv-inline">
          <span>ClusterIP</span>
          <code>{d.cluster_ip ?? "None"}</code>
          <span>DNS</span>
          <code>{d.dns_name}</code>
          <span>Endpoints</span>
          <span data-testid="detail-endpoints">
            {d.endpoints.ready}/{d.endpoints.ready + d.endpoints.not_ready} ready
          </span>
          <span>CPU / req</span>
          <span>{pct(d.resources.cpu_utilization_percent)}</span>
          <span>Mem / req</span>
          <span>{pct(d.resources.memory_utilization_percent)}</span>
          {d.score && (
            // The grade's parts in the page, not only in the badge's tooltip: touch screens and keyboards have no hover.
            <>
              <span>Score</span>
              <span data-testid="detail-score">{scoreTitle(d.score)}</span>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function workloadTarget(detail: Detail): string | null {
  const workload = detail.workloads[0];
  return workload ? `${workload.kind}/${workload.namespace}/${workload.name}` : null;
}

export function ServiceDetail(props: { route: Route }): JSX.Element {
  const route = props.route as Extract<Route, { view: "service" }>;
  const live = useLive();
  const key = keyOf(route.namespace, route.name);
  const revision = useThrottled(live.serviceRevisions.get(key) ?? 0, 1000);
  // Charts also follow the metrics ticks, but at most every 15 s (each refetch reads the history store).
  const chartRevision = useThrottled(`${revision}/${live.metricsAt ?? ""}`, 15_000);
  const detail = useFetch<Detail>(`/api/v1/services/${encodeURIComponent(route.namespace)}/${encodeURIComponent(route.name)}`, revision);
  if (!detail.data) {
    if (detail.status === 404)
      return (
        <Empty testid="service-not-found">
          There is no service {route.namespace}/{route.name} (any more). <Link href="/services">Back to the services</Link>.
        </Empty>
      );
    if (detail.error) return <ErrorBox error={detail.error} retry={detail.reload} />;
    return <Loading what={`${route.namespace}/${route.name}`} />;
  }
  const d = detail.data;
  return (
    <div class="page" data-testid="service-detail">
      <Header detail={d} />
      {detail.error && <ErrorBox error={`showing the last known state; ${detail.error}`} retry={detail.reload} />}
      <PathSection namespace={route.namespace} name={route.name} detail={d} revision={revision} />
      <RulesSection namespace={route.namespace} name={route.name} revision={revision} />
      <ReachabilitySection namespace={route.namespace} name={route.name} />
      <PodsSection pods={d.pods} workload={workloadTarget(d)} revision={chartRevision} />
      <HpaSection detail={d} revision={chartRevision} />
      <ChecksSection detail={d} />
      <Section title={`Recommendations (${d.recommendations.length})`} actions={<Link href="/recommendations">All →</Link>}>
        {d.recommendations.length === 0 ? (
          <Empty>No recommendation for this service.</Empty>
        ) : (
          <ul class="list">
            {d.recommendations.map((rec) => (
              <li key={rec.id}>
                <Badge tone={priorityTone(rec.priority)}>{rec.priority}</Badge>
                <span>{rec.kind}</span>
                <span class="muted">{rec.rationale}</span>
                <span class={`right ${savings(rec.savings_monthly_usd).tone}`}>{savings(rec.savings_monthly_usd).text}</span>
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title={`Anomalies (${d.anomalies.length})`} testid="service-anomalies">
        {d.anomalies.length === 0 ? (
          <Empty>No anomaly in this service's usage.</Empty>
        ) : (
          <ul class="list">
            {d.anomalies.map((a) => (
              <li key={a.id}>
                <Badge tone={a.severity === "critical" || a.severity === "high" ? "bad" : "warn"}>{a.kind}</Badge>
                <span>{a.message}</span>
                <span class="right muted">{new Date(a.timestamp).toLocaleTimeString()}</span>
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Events">
        {d.events.length === 0 ? (
          <Empty>No recent events.</Empty>
        ) : (
          <ul class="list">
            {d.events.slice(0, 15).map((e, index) => (
              <li key={`${e.name}-${index}`}>
                <Badge tone={e.type === "Warning" ? "warn" : "muted"}>{e.reason}</Badge>
                <span>{e.message}</span>
                <span class="right muted">×{e.count}</span>
              </li>
            ))}
          </ul>
        )}
      </Section>
    </div>
  );
}
