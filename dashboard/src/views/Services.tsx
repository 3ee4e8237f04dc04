// Services: the live table. Rows come from the store (WebSocket), keyed by namespace/name, so a delta
// changes only its row's cells in place. Filter, search and sort live in the URL query (shareable links).

import { Component, type JSX } from "preact";

import { Badge, Empty, Link, Loading, ScrollBox, gradeTone } from "../components/common";
import { pct, scoreTitle } from "../format";
import { useLive } from "../hooks";
import { servicePath, setQuery, useLocation } from "../router";
import type { ServiceSummary } from "../types";

type SortKey = "name" | "namespace" | "type" | "endpoints" | "cpu" | "memory" | "score" | "recommendations";

const COLUMNS: { key: SortKey | null; label: string }[] = [
  { key: "namespace", label: "Namespace" },
  { key: "name", label: "Name" },
  { key: "type", label: "Type" },
  { key: null, label: "ClusterIP" },
  { key: null, label: "Ports" },
  { key: "endpoints", label: "Endpoints" },
  { key: null, label: "Replicas" },
  { key: "cpu", label: "CPU / req" },
  { key: "memory", label: "Mem / req" },
  { key: "score", label: "Score" },
  { key: "recommendations", label: "Recs" },
];

const sortValue: Record<SortKey, (s: ServiceSummary) => string | number> = {
  name: (s) => s.name,
  namespace: (s) => `${s.namespace}/${s.name}`,
  type: (s) => s.type,
  endpoints: (s) => s.endpoints.ready,
  cpu: (s) => s.resources.cpu_utilization_percent ?? -1,
  memory: (s) => s.resources.memory_utilization_percent ?? -1,
  score: (s) => s.score?.overall ?? -1,
  recommendations: (s) => s.open_recommendations,
};

export function sortServices(services: ServiceSummary[], key: SortKey, descending: boolean): ServiceSummary[] {
  const pick = sortValue[key];
  const sorted = [...services].sort((a, b) => {
    const x = pick(a);
    const y = pick(b);
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return order || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);
  });
  return descending ? sorted.reverse() : sorted;
}

function ports(service: ServiceSummary): string {
  return service.ports
    .map((p) => {
      const base = `${p.port}${p.target_port !== p.port ? `→${p.target_port}` : ""}/${p.protocol}`;
      if (p.node_port === null) return base;
      return `${base} NodePort ${p.node_port}${p.host_port ? ` (host :${p.host_port})` : ""}`;
    })
    .join(", ");
}

function replicas(service: ServiceSummary): string {
  if (service.hpa) return `${service.hpa.min_replicas} / ${service.hpa.current_replicas ?? "?"} / ${service.hpa.max_replicas}`;
  const workload = service.workloads[0];
  if (!workload) return "—";
  return `${workload.ready_replicas} / ${workload.replicas ?? "?"}`;
}

function utilTone(value: number | null): string {
  if (value === null) return "";
  if (value > 90) return "util-hot";
  if (value < 30) return "util-cold";
  return "";
}

/** A utilization cell: the colour of a hot or cold value is repeated as a shape and, for screen readers, in words. */
function Util(props: { value: number | null }): JSX.Element {
  const tone = utilTone(props.value);
  return (
    <td class={tone}>
      {pct(props.value)}
      {tone === "util-hot" && (
        <span class="mark" title="over 90% of the request">
          <span aria-hidden="true">▲</span>
          <span class="sr-only"> (over 90% of the request)</span>
        </span>
      )}
      {tone === "util-cold" && (
        <span class="mark" title="under 30% of the request">
          <span aria-hidden="true">▽</span>
          <span class="sr-only"> (under 30% of the request)</span>
        </span>
      )}
    </td>
  );
}

/**
 * One table row. The store keeps the object of an unchanged service identical across messages, so a row
 * re-renders only when its own service changed: at 2,000 services a metrics tick touches only its rows.
 */
class Row extends Component<{ service: ServiceSummary }> {
  override shouldComponentUpdate(next: { service: ServiceSummary }): boolean {
    return next.service !== this.props.service;
  }

  override render(): JSX.Element {
    return <RowCells service={this.props.service} />;
  }
}

function RowCells(props: { service: ServiceSummary }): JSX.Element {
  const s = props.service;
  const total = s.endpoints.ready + s.endpoints.not_ready;
  const cpuPct = s.resources.cpu_utilization_percent;
  const memPct = s.resources.memory_utilization_percent;
  return (
    <tr data-testid={`service-row-${s.namespace}-${s.name}`}>
      <td>{s.namespace}</td>
      <td>
        <Link href={servicePath(s.namespace, s.name)} class="strong">
          {s.name}
        </Link>
      </td>
      <td>
        <Badge tone={s.type === "ClusterIP" ? "muted" : "info"}>{s.type}</Badge>
      </td>
      <td>
        <code>{s.cluster_ip ?? "None"}</code>
      </td>
      <td class="ports">{ports(s) || "—"}</td>
      <td class={s.endpoints.ready === 0 && s.selector ? "util-hot" : ""}>
        <span data-testid="endpoints">
          {s.endpoints.ready}/{total}
        </span>
        {s.endpoints.ready === 0 && s.selector && (
          <span class="mark" title="no ready endpoint: connections are refused">
            <span aria-hidden="true">⚠</span>
            <span class="sr-only"> (no ready endpoint)</span>
          </span>
        )}
      </td>
      <td title={s.hpa ? "HPA min / current / max" : "ready / desired"}>{replicas(s)}</td>
      <Util value={cpuPct} />
      <Util value={memPct} />
      <td>{s.score ? <Badge tone={gradeTone(s.score.letter)} title={scoreTitle(s.score)}>{s.score.letter}{s.score.efficiency_measured === false ? "*" : ""}</Badge> : "—"}</td>
      <td>{s.open_recommendations > 0 ? <Badge tone="warn">{s.open_recommendations}</Badge> : "0"}</td>
    </tr>
  );
}

export function Services(): JSX.Element {
  const live = useLive();
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const namespace = params.get("ns") ?? "";
  const query = (params.get("q") ?? "").toLowerCase();
  const sortParam = params.get("sort") ?? "namespace";
  const descending = sortParam.startsWith("-");
  const sortKey = (sortParam.replace(/^-/, "") as SortKey) in sortValue ? (sortParam.replace(/^-/, "") as SortKey) : "namespace";

  const all = [...live.services.values()];
  const namespaces = [...new Set(all.map((s) => s.namespace))].sort();
  const visible = sortServices(
    all.filter((s) => (!namespace || s.namespace === namespace) && (!query || `${s.namespace}/${s.name}`.toLowerCase().includes(query))),
    sortKey,
    descending,
  );

  const sortBy = (key: SortKey) => setQuery({ sort: key === sortKey && !descending ? `-${key}` : key });
  return (
    <div class="page" data-testid="services">
      <h1>Services</h1>
      <div class="toolbar">
        <label>
          <span class="sr-only">Namespace</span>
          <select value={namespace} onChange={(e) => setQuery({ ns: (e.target as HTMLSelectElement).value || null })} aria-label="Filter by namespace" data-testid="namespace-filter">
            <option value="">All namespaces</option>
            {namespaces.map((ns) => (
              <option key={ns} value={ns}>
                {ns}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          placeholder="Search services…"
          aria-label="Search services"
          value={params.get("q") ?? ""}
          onInput={(e) => setQuery({ q: (e.target as HTMLInputElement).value || null })}
          data-testid="service-search"
        />
        <span class="muted">
          {visible.length} of {all.length}
        </span>
      </div>
      {!live.synced ? (
        <Loading what="services" />
      ) : all.length === 0 ? (
        <Empty>No services in the watched namespaces.</Empty>
      ) : (
        <ScrollBox label="Services table">
          <table class="table" data-testid="services-table">
            <thead>
              <tr>
                {COLUMNS.map((column) => (
                  <th key={column.label} scope="col" aria-sort={column.key === sortKey ? (descending ? "descending" : "ascending") : undefined}>
                    {column.key ? (
                      <button type="button" class="th-sort" onClick={() => sortBy(column.key!)}>
                        {column.label}
                        {/* aria-sort on the header says the order; the arrow is for the eye. */}
                        <span aria-hidden="true">{column.key === sortKey ? (descending ? " ▾" : " ▴") : ""}</span>
                      </button>
                    ) : (
                      column.label
                    )}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {visible.map((service) => (
                <Row key={`${service.namespace}/${service.name}`} service={service} />
              ))}
            </tbody>
          </table>
          {visible.length === 0 && <Empty>No service matches the filter.</Empty>}
        </ScrollBox>
      )}
    </div>
  );
}
