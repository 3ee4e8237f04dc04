// The simulated HPA comparison for one HPA recommendation: replicas over time under the current and the
// proposed settings, with the CPU usage that drove them, and the two simulations' summary numbers. Shown in
// the service detail's Autoscaling section and in the recommendation's card.

import type { JSX } from "preact";

import { cpu } from "../format";
import { USAGE_SCALE, settingsChange, summaryRows, timelineChart } from "../simulation";
import type { Recommendation } from "../types";
import { Chart } from "./Chart";

const VERDICT_CLASS: Record<string, string> = { better: "good", worse: "util-hot", same: "muted", neutral: "" };
// Green and red are not the only sign: a check or a cross says the same, and the words say it to screen readers.
const VERDICT_MARK: Record<string, string> = { better: "✓", worse: "✗" };

export function SimulationSummary(props: { rec: Recommendation }): JSX.Element | null {
  const rows = summaryRows(props.rec.simulation_current, props.rec.simulation_proposed);
  if (rows.length === 0) return null;
  return (
    <table class="table compact sim-summary" data-testid="hpa-simulation">
      <caption>Replayed over the recorded load: current vs proposed HPA</caption>
      <thead>
        <tr>
          <th scope="col">Figure</th>
          <th scope="col">Current</th>
          <th scope="col">Proposed</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key} data-testid={`sim-${row.key}`}>
            <td>{row.label}</td>
            <td>{row.current}</td>
            <td class={VERDICT_CLASS[row.verdict]} title={row.verdict === "better" || row.verdict === "worse" ? `${row.verdict} with the proposed setting` : undefined}>
              {row.proposed}
              {VERDICT_MARK[row.verdict] && (
                <span class="mark">
                  <span aria-hidden="true">{VERDICT_MARK[row.verdict]}</span>
                  <span class="sr-only"> ({row.verdict})</span>
                </span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `showSettings`: also say what the proposal changes (the recommendation card has its own table for that). */
export function HpaTimeline(props: { rec: Recommendation; showSettings?: boolean }): JSX.Element {
  const { rec } = props;
  const chart = timelineChart(rec.timeline);
  const change = settingsChange(rec);
  return (
    <div class="hpa-timeline" data-testid="hpa-timeline">
      {props.showSettings && change && (
        <p class="muted" data-testid="hpa-settings-change">
          Proposed HPA: {change}
        </p>
      )}
      <div class="sim-grid">
        {chart.times.length < 2 ? (
          <div class="chart chart-empty" data-testid="hpa-timeline-empty">
            Simulated replicas: not enough recorded usage to replay yet
          </div>
        ) : (
          <Chart
            title="Simulated replicas: current vs proposed HPA, driven by the recorded CPU usage"
            times={chart.times}
            lines={chart.lines}
            format={(v) => v.toFixed(0)}
            yRange={chart.replicaRange}
            integerY
            rightAxis={{ scale: USAGE_SCALE, format: cpu }}
            height={220}
            testid="chart-hpa-timeline"
          />
        )}
        <SimulationSummary rec={rec} />
      </div>
    </div>
  );
}
