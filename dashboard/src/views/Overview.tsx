// Overview: the cluster at a glance — nodes with their usage, the three network planes, totals, cost and
// savings, the top recommendations and live anomalies.

import type { JSX } from "preact";

import { WorkloadFindings } from "../components/WorkloadFindings";
import { Badge, Empty, ErrorBox, Link, Loading, Section, UsageBar, priorityTone } from "../components/common";
import { bytes, cpu, label, savings, usd } from "../format";
import { useFetch, useLive, useThrottled } from "../hooks";
import type { NodeOut, Overview as OverviewData } from "../types";

function Stat(props: { label: string; value: string; testid: string; tone?: string }): JSX.Element {
  return (
    <div class={`stat ${props.tone ? `stat-${props.tone}` : ""}`} data-testid={props.testid}>
      <div class="stat-value">{props.value}</div>
      <div class="stat-label">{props.label}</div>
    </div>
  );
}

function NodeCard(props: { node: NodeOut }): JSX.Element {
  const { node } = props;
  return (
    <div class="node-card" data-testid={`node-${node.name}`}>
      <div class="node-head">
        <strong>{node.name}</strong>
        <Badge tone={node.ready ? "good" : "bad"}>{node.ready ? "Ready" : "NotReady"}</Badge>
      </div>
      <div class="kv">
        <span>Role</span>
        <span>{node.roles.join(", ") || "worker"}</span>
        <span>Node IP</span>
        <code>{node.internal_ip ?? "—"}</code>
        <span>Pod CIDR</span>
        <code>{node.pod_cidr ?? "—"}</code>
        <span>Pods</span>
        <span>{node.pod_count}</span>
      </div>
      <div class="bar-row">
        <span class="bar-label">CPU</span>
        <UsageBar used={node.usage_cpu_millicores} requested={node.requested_cpu_millicores} total={node.allocatable_cpu_millicores} label={`${node.name} CPU`} />
        <span class="bar-text">
          {cpu(node.usage_cpu_millicores)} used · {cpu(node.requested_cpu_millicores)} req / {cpu(node.allocatable_cpu_millicores)}
        </span>
      </div>
      <div class="bar-row">
        <span class="bar-label">Memory</span>
        <UsageBar used={node.usage_memory_bytes} requested={node.requested_memory_bytes} total={node.allocatable_memory_bytes} label={`${node.name} memory`} />
        <span class="bar-text">
          {bytes(node.usage_memory_bytes)} used · {bytes(node.requested_memory_bytes)} req / {bytes(node.allocatable_memory_bytes)}
        </span>
      </div>
    </div>
  );
}

function Planes(props: { overview: OverviewData | null }): JSX.Element {
  const network = props.overview?.network;
  if (!network) return <Loading what="network planes" />;
  const mappings = Object.entries(network.host_port_mappings ?? {});
  return (
    <div class="planes" data-testid="network-planes">
      <div class="plane plane-node">
        <h3>Node network</h3>
        <code>{network.node_network_cidr ?? "—"}</code>
        <p>Node-to-node traffic; kind maps host ports here.</p>
      </div>
      <div class="plane plane-pod">
        <h3>Pod network (CNI)</h3>
        <code>{network.pod_cidrs.length ? network.pod_cidrs.join(", ") : "—"}</code>
        <p>Real pod IPs, routed across nodes.</p>
      </div>
      <div class="plane plane-svc">
        <h3>Service network (virtual)</h3>
        <code>{network.service_cidr}</code>
        <p>ClusterIPs; kube-proxy DNATs to endpoints.</p>
      </div>
      {mappings.length > 0 && (
        <div class="plane plane-host">
          <h3>Host port mappings</h3>
          {mappings.map(([nodePort, hostPort]) => (
            <div key={nodePort}>
              <code>localhost:{hostPort}</code> → NodePort <code>{nodePort}</code>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export function Overview(): JSX.Element {
  const live = useLive();
  const revision = useThrottled(live.metricsAt ?? live.seq, 10_000);
  const overview = useFetch<OverviewData>("/api/v1/cluster/overview", revision);
  const nodes = live.nodes.size > 0 ? [...live.nodes.values()] : overview.data?.nodes ?? [];
  const topRecommendations = [...live.recommendations].sort((a, b) => b.savings_monthly_usd - a.savings_monthly_usd).slice(0, 5);
  const anomalies = [...live.anomalies].sort((a, b) => b.timestamp.localeCompare(a.timestamp)).slice(0, 8);
  const data = overview.data;
  return (
    <div class="page" data-testid="overview">
      <h1>Cluster overview</h1>
      {overview.error && !data && <ErrorBox error={overview.error} retry={overview.reload} />}
      <div class="stats">
        <Stat label="Nodes" value={String(nodes.length || (data?.counts.nodes ?? "—"))} testid="stat-nodes" />
        <Stat label="Services" value={String(live.synced ? live.services.size : (data?.counts.services ?? "—"))} testid="stat-services" />
        <Stat label="Pods" value={String(live.synced ? live.pods.size : (data?.counts.pods ?? "—"))} testid="stat-pods" />
        <Stat label="Monthly cost" value={usd(data?.cost_monthly_usd)} testid="stat-cost" />
        {(data?.potential_savings_monthly_usd ?? 0) < 0 ? (
          // Reliability fixes (more replicas, more memory) can outweigh the savings: say it is a cost.
          <Stat label="Net cost of the recommendations / month" value={`+${usd(-(data?.potential_savings_monthly_usd ?? 0))}`} testid="stat-savings" tone="warn" />
        ) : (
          <Stat label="Potential savings / month" value={usd(data?.potential_savings_monthly_usd)} testid="stat-savings" tone="good" />
        )}
        <Stat label="Open recommendations" value={String(live.recommendations.length)} testid="stat-recommendations" />
      </div>
      {data && Object.keys(data.scores).length > 0 && (
        <div class="scores" data-testid="scores" aria-label="Cluster scores">
          {Object.entries(data.scores).map(([name, score]) => (
            <div class="score" key={name}>
              <span class="muted">{label(name)}</span>
              <div class="bar" role="img" aria-label={`${label(name)} ${score.toFixed(0)} of 100`}>
                <div class="bar-used" style={{ width: `${Math.max(0, Math.min(100, score))}%` }} />
              </div>
              <strong>{score.toFixed(0)}</strong>
            </div>
          ))}
        </div>
      )}
      <Section title="Network planes">
        <Planes overview={data} />
      </Section>
      <Section title="Nodes" testid="nodes">
        {nodes.length === 0 ? (
          live.synced || data ? <Empty>No nodes reported.</Empty> : <Loading what="nodes" />
        ) : (
          <div class="node-grid">
            {nodes.map((node) => (
              <NodeCard key={node.name} node={node} />
            ))}
          </div>
        )}
      </Section>
      <WorkloadFindings revision={revision} />
      <div class="two-col">
        <Section title="Top recommendations" actions={<Link href="/recommendations">All →</Link>}>
          {topRecommendations.length === 0 ? (
            <Empty>{live.synced ? "No open recommendations: everything looks right-sized." : "Waiting for the first analysis…"}</Empty>
          ) : (
            <ul class="list">
              {topRecommendations.map((rec) => (
                <li key={rec.id}>
                  <Badge tone={priorityTone(rec.priority)}>{rec.priority}</Badge>
                  <Link href={`/recommendations#rec-${rec.id}`}>
                    {rec.target.namespace}/{rec.target.name}
                  </Link>
                  <span class="muted">{rec.kind}</span>
                  <span class={`right ${savings(rec.savings_monthly_usd).tone}`}>{savings(rec.savings_monthly_usd).text}</span>
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title="Live anomalies" testid="anomalies">
          {anomalies.length === 0 ? (
            <Empty>No anomalies detected.</Empty>
          ) : (
            <ul class="list">
              {anomalies.map((anomaly) => (
                <li key={anomaly.id}>
                  <Badge tone={anomaly.severity === "critical" || anomaly.severity === "high" ? "bad" : "warn"}>{anomaly.severity}</Badge>
                  <span>
                    {anomaly.target.namespace}/{anomaly.target.name}
                  </span>
                  <span class="muted">{anomaly.message}</span>
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
    </div>
  );
}
