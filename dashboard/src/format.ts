// Human formatting of the wire units (millicores, bytes, USD, percent); every function accepts null
// and renders an em dash, so empty data never crashes a view.

const DASH = "—";

export function cpu(millicores: number | null | undefined): string {
  if (millicores === null || millicores === undefined || Number.isNaN(millicores)) return DASH;
  if (Math.abs(millicores) >= 1000) return `${(millicores / 1000).toFixed(2)} cores`;
  return `${Math.round(millicores)}m`;
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let amount = value;
  let unit = 0;
  while (Math.abs(amount) >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit += 1;
  }
  return `${amount >= 100 || unit === 0 ? Math.round(amount) : amount.toFixed(1)} ${units[unit]}`;
}

export function pct(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return `${value.toFixed(digits)}%`;
}

export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  const amount = Math.abs(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return value < 0 ? `−$${amount}` : `$${amount}`;
}

/** A recommendation's monthly effect: savings, or the extra cost of a reliability fix. */
export function savings(value: number): { text: string; tone: "money" | "cost" | "muted" } {
  if (Math.abs(value) < 0.005) return { text: "no cost change", tone: "muted" };
  if (value < 0) return { text: `+${usd(-value)}/mo cost`, tone: "cost" };
  return { text: `${usd(value)}/mo saved`, tone: "money" };
}

export function clock(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return DASH;
  const date = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

export function value(raw: unknown): string {
  if (raw === null || raw === undefined) return DASH;
  if (typeof raw === "object") return JSON.stringify(raw);
  return String(raw);
}

/** A current/proposed field rendered with its unit when the name says it. */
export function field(name: string, raw: unknown): string {
  if (typeof raw !== "number") return value(raw);
  if (name.endsWith("_millicores")) return cpu(raw);
  if (name.endsWith("_bytes")) return bytes(raw);
  if (name.endsWith("_percent")) return pct(raw);
  if (name.endsWith("_usd")) return usd(raw);
  return String(raw);
}

export function label(name: string): string {
  return name
    .replace(/_(millicores|bytes|percent|usd)$/, "")
    .replace(/_/g, " ")
    .replace(/\b(cpu|hpa|p\d+)\b/g, (w) => w.toUpperCase())
    .replace(/^./, (c) => c.toUpperCase());
}

/** A duration in seconds as the largest two units: 0s, 45s, 12m, 1h 05m, 2d 3h. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return DASH;
  const total = Math.round(Math.abs(seconds));
  const sign = seconds < 0 ? "−" : "";
  if (total < 60) return `${sign}${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${sign}${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${sign}${hours}h ${String(minutes % 60).padStart(2, "0")}m`;
  return `${sign}${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** A score badge's tooltip: the parts of the grade, and a note while efficiency is only a placeholder. */
export function scoreTitle(score: { overall: number; efficiency: number; reliability: number; right_sizing: number; efficiency_measured?: boolean }): string {
  const parts = `overall ${score.overall.toFixed(0)} · reliability ${score.reliability.toFixed(0)} · right-sizing ${score.right_sizing.toFixed(0)}`;
  if (score.efficiency_measured === false) return `${parts} · efficiency not measured yet (no usage reading; left out of overall)`;
  return `${parts} · efficiency ${score.efficiency.toFixed(0)}`;
}
