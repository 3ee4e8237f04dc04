// A uPlot time-series chart: uPlot draws thousands of points on a canvas and updates by setData, so a
// live chart never rebuilds the DOM. Request and limit are drawn as flat dashed lines. A line can sit on a
// second scale (drawn against a right-hand axis) and be stepped (replica counts change in steps). Colours
// may be CSS variables (`var(--series-1)`): they are resolved against the current theme, and a theme switch
// rebuilds the chart, so lines and axes keep their contrast in both themes.

import type { JSX } from "preact";
import { useContext, useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { ThemeContext } from "../hooks";

export interface Line {
  label: string;
  values: (number | null)[];
  /** A CSS colour or `var(--name)` (resolved against the current theme). */
  color: string;
  dash?: number[];
  /** Another uPlot scale than the left axis's `y` (needs `rightAxis` with the same scale). */
  scale?: string;
  /** Draw as steps (each value holds until the next point): replica counts. */
  step?: boolean;
  /** This line's legend value format (default: the chart's `format`). */
  format?: (value: number) => string;
}

export interface RightAxis {
  scale: string;
  format: (value: number) => string;
}

export interface ChartProps {
  title: string;
  times: number[]; // unix seconds
  lines: Line[];
  format: (value: number) => string;
  height?: number;
  testid?: string;
  rightAxis?: RightAxis;
  /** Fixed range of the left axis (default: auto). */
  yRange?: [number, number];
  /** Left-axis ticks at whole numbers only (replicas). */
  integerY?: boolean;
}

const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500];

function lineSeries(line: Line, format: (value: number) => string): uPlot.Series {
  const stepped = line.step ? uPlot.paths.stepped?.({ align: 1 }) : undefined;
  const legend = line.format ?? format;
  return {
    label: line.label,
    stroke: resolveColor(line.color),
    width: line.dash ? 1.5 : 2,
    dash: line.dash,
    spanGaps: true,
    ...(line.scale ? { scale: line.scale } : {}),
    ...(stepped ? { paths: stepped } : {}),
    ...(line.dash || line.step ? { points: { show: false } } : {}),
    value: (_u: uPlot, v: number | null) => (v === null ? "—" : legend(v)),
  };
}

function chartAxes(props: ChartProps, axis: string, grid: string): uPlot.Axis[] {
  const left: uPlot.Axis = { stroke: axis, grid: { stroke: grid }, size: 70, values: (_u, ticks) => ticks.map((t) => props.format(t)) };
  if (props.integerY) left.incrs = INTEGER_STEPS;
  const axes: uPlot.Axis[] = [{ stroke: axis, grid: { stroke: grid } }, left];
  const right = props.rightAxis;
  if (right) axes.push({ scale: right.scale, side: 1, stroke: axis, grid: { show: false }, size: 70, values: (_u, ticks) => ticks.map((t) => right.format(t)) });
  return axes;
}

function chartScales(props: ChartProps): uPlot.Scales {
  const scales: uPlot.Scales = { x: { time: true } };
  if (props.yRange) {
    const range = props.yRange;
    scales.y = { range: () => range };
  }
  if (props.rightAxis) scales[props.rightAxis.scale] = { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] };
  return scales;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** The custom property a `var(--name)` colour names, or null for a plain colour. */
export function cssVarName(color: string): string | null {
  return /^var\((--[\w-]+)\)$/.exec(color.trim())?.[1] ?? null;
}

/** `var(--name)` → the theme's value of --name (canvas strokes do not understand CSS variables). */
function resolveColor(color: string): string {
  const name = cssVarName(color);
  return name ? cssVar(name, "#888888") : color;
}

export function Chart(props: ChartProps): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The theme is part of the shape: its colours are baked into the canvas, so a switch redraws it.
  const theme = useContext(ThemeContext);
  const shape = [...props.lines.map((line) => `${line.label}:${line.color}`), props.yRange?.join("-") ?? "", props.rightAxis?.scale ?? "", theme].join("|");

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
      scales: chartScales(props),
      axes: chartAxes(props, axis, grid),
      series: [{}, ...props.lines.map((line) => lineSeries(line, props.format))],
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
