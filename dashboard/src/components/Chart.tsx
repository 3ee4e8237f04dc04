// A uPlot time-series chart: uPlot draws thousands of points on a canvas and updates by setData, so a
// live chart never rebuilds the DOM. Request and limit are drawn as flat dashed lines.

import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
}

export interface ChartProps {
  title: string;
  times: number[]; // unix seconds
  lines: Line[];
  format: (value: number) => string;
  height?: number;
  testid?: string;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

export function Chart(props: ChartProps): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.lines.map((line) => line.label).join("|");

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const axis = cssVar("--muted", "#8b949e");
    const grid = cssVar("--grid", "rgba(128,128,128,0.15)");
    const options: uPlot.Options = {
      width: Math.max(240, element.clientWidth),
      height: props.height ?? 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: axis, grid: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, size: 70, values: (_u, ticks) => ticks.map((t) => props.format(t)) },
      ],
      series: [
        {},
        ...props.lines.map((line) => ({
          label: line.label,
          stroke: line.color,
          width: line.dash ? 1.5 : 2,
          dash: line.dash,
          spanGaps: true,
          ...(line.dash ? { points: { show: false } } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? "—" : props.format(v)),
        })),
      ],
    };
    const data = [props.times, ...props.lines.map((line) => line.values)] as uPlot.AlignedData;
    plot.current = new uPlot(options, data, element);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, element.clientWidth), height: props.height ?? 180 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuild only when the set of lines changes; new points go through setData below.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.lines.map((line) => line.values)] as uPlot.AlignedData);
  }, [props.times, props.lines]);

  return (
    <figure class="chart" data-testid={props.testid} aria-label={props.title}>
      <figcaption>{props.title}</figcaption>
      <div ref={host} />
    </figure>
  );
}
