// Recommendations: every recommendation as something to review, copy or apply — rationale, current →
// proposed, the YAML patch and the kubectl command (with copy buttons), a server-side dry-run diff, and
// apply/rollback when the backend allows it (it asks for the bearer token). The list is live from the
// WebSocket; the change history is fetched.

import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

import { ApiError, api, getToken, setToken } from "../api";
import { type ApplyAvailability, type ApplyMode, applyAvailability, useCapabilities } from "../capabilities";
import { HpaTimeline } from "../components/HpaTimeline";
import { TokenForm } from "../components/Token";
import { Badge, CodeBlock, CopyButton, DiffBlock, Empty, ErrorBox, Link, Loading, ScrollBox, Section, priorityTone } from "../components/common";
import { field, label, savings, usd, value } from "../format";
import { serviceFor } from "../model";
import { useFetch, useLive } from "../hooks";
import { servicePath, setQuery, useLocation } from "../router";
import type { ChangeRecord, DryRunResult, Page, Recommendation, ServiceSummary } from "../types";

const PRIORITY_RANK: Record<string, number> = { high: 0, medium: 1, low: 2 };

export function sortRecommendations(items: readonly Recommendation[], by: string): Recommendation[] {
  const sorted = [...items];
  if (by === "priority") {
    sorted.sort((a, b) => (PRIORITY_RANK[a.priority] ?? 3) - (PRIORITY_RANK[b.priority] ?? 3) || b.savings_monthly_usd - a.savings_monthly_usd);
  } else {
    sorted.sort((a, b) => b.savings_monthly_usd - a.savings_monthly_usd || (PRIORITY_RANK[a.priority] ?? 3) - (PRIORITY_RANK[b.priority] ?? 3));
  }
  return sorted;
}

function CurrentProposed(props: { rec: Recommendation }): JSX.Element | null {
  const current = props.rec.current ?? {};
  const proposed = props.rec.proposed ?? {};
  const keys = [...new Set([...Object.keys(current), ...Object.keys(proposed)])];
  if (keys.length === 0) return null;
  return (
    <ScrollBox label="Current and proposed settings">
    <table class="table compact" data-testid="rec-values">
      <thead>
        <tr>
          <th scope="col">Setting</th>
          <th scope="col">Current</th>
          <th scope="col">
            <span class="sr-only">Change</span>
          </th>
          <th scope="col">Proposed</th>
        </tr>
      </thead>
      <tbody>
        {keys.map((k) => {
          const changed = value(current[k]) !== value(proposed[k]);
          return (
            <tr key={k} class={changed ? "changed" : ""}>
              <td>{label(k)}</td>
              <td>{field(k, current[k])}</td>
              <td>
                <span aria-hidden="true">{changed ? "→" : ""}</span>
                <span class="sr-only">{changed ? "changes to" : "unchanged"}</span>
              </td>
              <td class={changed ? "strong" : ""}>{field(k, proposed[k])}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
    </ScrollBox>
  );
}

type ApplyState = { kind: "idle" } | { kind: "busy" } | { kind: "error"; message: string } | { kind: "done"; message: string };
type Action = "dry-run" | "apply";

function Actions(props: { rec: Recommendation; apply: ApplyAvailability; onDisabled: (reason: string) => void; onChanged: () => void }): JSX.Element | null {
  const [dryRun, setDryRun] = useState<DryRunResult | null>(null);
  const [state, setState] = useState<ApplyState>({ kind: "idle" });
  const [needsToken, setNeedsToken] = useState<Action | null>(null);
  const dryRunButton = useRef<HTMLButtonElement>(null);
  const applyButton = useRef<HTMLButtonElement>(null);
  if (!props.rec.applicable) {
    // Outside the apply scope (a system namespace, the optimizer itself, not in OPTIMIZER_APPLY_NAMESPACES):
    // shown, with the reason, but never offered.
    const reason = props.rec.not_applicable_reason;
    return reason ? (
      <div class="actions">
        <span class="muted" data-testid="rec-not-applicable">
          Not applicable here: {reason}
        </span>
      </div>
    ) : null;
  }
  const disabled = props.apply.mode !== "enabled" || state.kind === "busy";
  const run = async (action: Action, token: string) => {
    setState({ kind: "busy" });
    const path = `/api/v1/recommendations/${encodeURIComponent(props.rec.id)}/${action}`;
    try {
      if (action === "dry-run") {
        setDryRun(await api.post<DryRunResult>(path, token));
        setState({ kind: "idle" });
      } else {
        const change = await api.post<ChangeRecord>(path, token);
        setState({ kind: "done", message: `Applied as change ${change.id}.` });
        props.onChanged();
      }
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 0;
      if (status === 401) setToken(null);
      if (status === 403) props.onDisabled((error as Error).message);
      setState({ kind: "error", message: (error as Error).message });
    }
  };
  const start = (action: Action) => {
    const token = getToken();
    if (token) void run(action, token);
    else setNeedsToken(action);
  };
  return (
    <div class="actions">
      <button type="button" ref={dryRunButton} class="btn" disabled={disabled} onClick={() => start("dry-run")} data-testid="rec-dry-run">
        Dry-run
      </button>
      <button type="button" ref={applyButton} class="btn btn-primary" disabled={disabled} onClick={() => start("apply")} data-testid="rec-apply">
        Apply
      </button>
      {props.apply.reason && (
        <span class="muted" data-testid="apply-disabled-reason">
          {props.apply.reason}
        </span>
      )}
      {needsToken && (
        <TokenForm
          purpose={`to ${needsToken}`}
          onDone={(token) => {
            const action = needsToken;
            setNeedsToken(null);
            if (token) void run(action, token);
            // Cancelled: focus goes back to the button that asked for the token.
            else (action === "apply" ? applyButton : dryRunButton).current?.focus();
          }}
        />
      )}
      {state.kind === "error" && (
        <span class="util-hot" role="alert">
          {state.message}
        </span>
      )}
      {state.kind === "done" && (
        <span class="good" role="status">
          {state.message}
        </span>
      )}
      {dryRun && (
        <div class="dry-run" data-testid="rec-diff">
          <DiffBlock diff={dryRun.unified_diff || dryRun.diff.map((d) => `${d.path}: ${value(d.before)} → ${value(d.after)}`).join("\n")} label="Dry-run diff (server-side)" />
        </div>
      )}
    </div>
  );
}

function RecommendationCard(props: { rec: Recommendation; service: ServiceSummary | null; apply: ApplyAvailability; onDisabled: (reason: string) => void; onChanged: () => void }): JSX.Element {
  const { rec, service } = props;
  const effect = savings(rec.savings_monthly_usd);
  const [open, setOpen] = useState(false);
  return (
    <article class="card rec" data-testid="recommendation" id={`rec-${rec.id}`} aria-label={`${rec.kind} recommendation for ${rec.target.namespace}/${rec.target.name}`}>
      <header class="rec-head">
        <Badge tone={priorityTone(rec.priority)}>{rec.priority}</Badge>
        <Badge tone="info">{rec.kind}</Badge>
        <span class="strong">
          {rec.target.kind}/{rec.target.namespace}/{rec.target.name}
        </span>
        {rec.container && <span class="muted">container {rec.container}</span>}
        {service && (
          <Link href={servicePath(service.namespace, service.name)} class="muted">
            service {service.name} →
          </Link>
        )}
        <span class={`right ${effect.tone}`} data-testid="rec-savings">
          {effect.text}
        </span>
        <span class="muted" title="confidence">
          {(rec.confidence * 100).toFixed(0)}% conf.
        </span>
        {rec.stale && (
          <span class="badge badge-warn" data-testid="rec-stale">
            stale: history source unreachable, last values kept
          </span>
        )}
      </header>
      <p class="rationale">{rec.rationale}</p>
      <CurrentProposed rec={rec} />
      {rec.kind === "hpa" && <HpaTimeline rec={rec} />}
      <div class="code-row">
        <CodeBlock code={rec.patch_yaml} label="YAML patch" testid="rec-yaml" />
        <CodeBlock code={rec.kubectl_command} label="kubectl command" testid="rec-kubectl" />
      </div>
      <button type="button" class="btn btn-ghost btn-small" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? "Hide" : "Show"} verification commands
      </button>
      {open && rec.verify_commands.length > 0 && <CodeBlock code={rec.verify_commands.join("\n")} label="Verify" />}
      <Actions rec={rec} apply={props.apply} onDisabled={props.onDisabled} onChanged={props.onChanged} />
    </article>
  );
}

function ChangeHistory(props: { revision: number; mode: ApplyMode; onChanged: () => void }): JSX.Element {
  const changes = useFetch<Page<ChangeRecord>>("/api/v1/changes?limit=50", props.revision);
  const [error, setError] = useState<string | null>(null);
  const [needsToken, setNeedsToken] = useState<string | null>(null);
  const rollback = async (id: string, token: string | null = getToken()) => {
    if (!token) {
      setNeedsToken(id);
      return;
    }
    try {
      await api.post<ChangeRecord>(`/api/v1/changes/${encodeURIComponent(id)}/rollback`, token);
      setError(null);
      props.onChanged();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Section title="Change history" testid="change-history">
      {error && <ErrorBox error={error} />}
      {needsToken && (
        <TokenForm
          purpose="to roll back"
          onDone={(token) => {
            const id = needsToken;
            setNeedsToken(null);
            if (token) void rollback(id, token);
          }}
        />
      )}
      {changes.error && !changes.data ? (
        <ErrorBox error={changes.error} retry={changes.reload} />
      ) : !changes.data ? (
        <Loading what="change history" />
      ) : changes.data.items.length === 0 ? (
        <Empty>No change has been applied yet.</Empty>
      ) : (
        <ul class="list">
          {changes.data.items.map((change) => (
            <li key={change.id}>
              <Badge tone={change.action === "apply" ? "info" : "muted"}>{change.action}</Badge>
              <span>
                {change.target.kind}/{change.target.namespace}/{change.target.name}
              </span>
              <span class="muted">{new Date(change.at).toLocaleString()}</span>
              <span class="muted">{change.diff.map((d) => `${d.path}: ${value(d.before)} → ${value(d.after)}`).join("; ")}</span>
              {change.action === "apply" && !change.rolled_back_by && (
                <button type="button" class="btn btn-small right" disabled={props.mode !== "enabled"} onClick={() => rollback(change.id)}>
                  Roll back
                </button>
              )}
              {change.rolled_back_by && <span class="right muted">rolled back</span>}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

export function Recommendations(): JSX.Element {
  const live = useLive();
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const sort = params.get("sort") === "priority" ? "priority" : "savings";
  const namespace = params.get("ns") ?? "";
  const capabilities = useCapabilities();
  // A 403 from an action means the backend turned apply off since we asked: trust it until it says otherwise.
  const [refused, setRefused] = useState<string | null>(null);
  const apply: ApplyAvailability = refused ? { mode: "disabled", reason: `Read-only backend: ${refused}. Copy the command instead.` } : applyAvailability(capabilities.data, capabilities.error);
  const [hasToken, setHasToken] = useState(getToken() !== null);
  const [revision, setRevision] = useState(0);
  const namespaces = [...new Set(live.recommendations.map((r) => r.target.namespace))].sort();
  const items = sortRecommendations(
    live.recommendations.filter((r) => !namespace || r.target.namespace === namespace),
    sort,
  );
  const total = items.reduce((sum, r) => sum + r.savings_monthly_usd, 0);
  const hash = typeof window === "undefined" ? "" : window.location.hash;
  useEffect(() => {
    // Deep link to one recommendation (from the overview): scroll to it once it is rendered.
    if (hash.startsWith("#rec-")) document.getElementById(hash.slice(1))?.scrollIntoView({ block: "start" });
  }, [hash, items.length > 0]);
  return (
    <div class="page" data-testid="recommendations">
      <h1>Recommendations</h1>
      <div class="toolbar">
        <label>
          Sort by{" "}
          <select value={sort} onChange={(e) => setQuery({ sort: (e.target as HTMLSelectElement).value })} data-testid="rec-sort">
            <option value="savings">Savings</option>
            <option value="priority">Priority</option>
          </select>
        </label>
        <select value={namespace} aria-label="Filter by namespace" onChange={(e) => setQuery({ ns: (e.target as HTMLSelectElement).value || null })}>
          <option value="">All namespaces</option>
          {namespaces.map((ns) => (
            <option key={ns} value={ns}>
              {ns}
            </option>
          ))}
        </select>
        <span class="muted">
          {items.length} recommendations · <span class={total < 0 ? "cost" : "money"}>{usd(total)}/mo</span> net savings
        </span>
        {(hasToken || getToken()) && (
          <button
            type="button"
            class="btn btn-small"
            onClick={() => {
              setToken(null);
              setHasToken(false);
            }}
          >
            Forget token
          </button>
        )}
        <CopyButton text={items.map((r) => r.kubectl_command).join("\n")} label="all kubectl commands" />
      </div>
      {!live.synced ? (
        <Loading what="recommendations" />
      ) : items.length === 0 ? (
        <Empty>No open recommendations. Recommendations appear once enough usage history has been recorded.</Empty>
      ) : (
        items.map((rec) => (
          <RecommendationCard key={rec.id} rec={rec} service={serviceFor(rec.target, live.services.values())} apply={apply} onDisabled={setRefused} onChanged={() => setRevision((n) => n + 1)} />
        ))
      )}
      <ChangeHistory revision={revision} mode={apply.mode} onChanged={() => setRevision((n) => n + 1)} />
    </div>
  );
}
