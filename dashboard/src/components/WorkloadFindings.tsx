// Findings on workloads that no Service fronts (a crash-looping worker, an unschedulable job runner): the
// services views never show them, so the overview lists them with the kubectl command that shows the
// evidence. Only drawn when there is something to say.

import type { JSX } from "preact";

import { useFetch } from "../hooks";
import type { Page, WorkloadDetail, WorkloadSummary } from "../types";
import { Badge, CodeBlock, Section } from "./common";

/** Workloads with findings, worst first (most findings), then by namespace/name. */
export function workloadsWithFindings(page: Page<WorkloadSummary> | null): WorkloadSummary[] {
  return (page?.items ?? [])
    .filter((w) => w.diagnoses > 0)
    .sort((a, b) => b.diagnoses - a.diagnoses || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

const TONE: Record<string, string> = { danger: "bad", warning: "warn", info: "info" };

function WorkloadFinding(props: { workload: WorkloadSummary; revision: unknown }): JSX.Element {
  const { workload } = props;
  const path = `/api/v1/workloads/${encodeURIComponent(workload.namespace)}/${encodeURIComponent(workload.kind)}/${encodeURIComponent(workload.name)}`;
  const detail = useFetch<WorkloadDetail>(path, props.revision);
  return (
    <div data-testid="workload-finding">
      <strong>
        {workload.kind}/{workload.namespace}/{workload.name}
      </strong>
      {detail.error && <span class="muted"> ({detail.error})</span>}
      {(detail.data?.diagnosis ?? []).map((d) => (
        <div class={`finding finding-${d.severity}`} key={d.id}>
          <div>
            <Badge tone={TONE[d.severity] ?? "info"}>{d.severity}</Badge> {d.message}
          </div>
          <div class="muted">Fix: {d.fix}</div>
          <CodeBlock code={d.evidence_command} label="Evidence" />
        </div>
      ))}
    </div>
  );
}

export function WorkloadFindings(props: { revision: unknown }): JSX.Element | null {
  const workloads = useFetch<Page<WorkloadSummary>>("/api/v1/workloads?limit=1000", props.revision);
  const flagged = workloadsWithFindings(workloads.data);
  if (flagged.length === 0) return null;
  return (
    <Section title={`Workloads without a Service that need attention (${flagged.length})`} testid="workload-findings">
      {flagged.map((w) => (
        <WorkloadFinding key={`${w.kind}/${w.namespace}/${w.name}`} workload={w} revision={props.revision} />
      ))}
    </Section>
  );
}
