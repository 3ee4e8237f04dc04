// What the screen reader is told about live changes. The WebSocket delivers a message every few seconds
// (metrics ticks, re-analysed recommendations); announcing each would drown everything else out. Only two
// kinds of change are worth an interruption: a recommendation that was not there before, and the live
// connection dropping or coming back. Both are coalesced: at most one announcement per `minGapMs`, new
// recommendations gathered into one sentence, and a connection that flaps back to what was last said is
// not announced at all.

export interface AnnouncedRecommendation {
  kind: string;
  target: { kind: string; namespace: string; name: string };
  container?: string | null;
}

export type LinkStatus = "connecting" | "live" | "reconnecting";

export interface Timer {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimer: Timer = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * A recommendation's identity across analyses. Its `id` hashes the proposed values, so it changes whenever
 * new history moves the proposal; what it is about (kind, object, container) does not.
 */
export function recommendationKey(rec: AnnouncedRecommendation): string {
  return `${rec.kind}:${rec.target.kind}/${rec.target.namespace}/${rec.target.name}:${rec.container ?? ""}`;
}

const describe = (rec: AnnouncedRecommendation): string => `${rec.kind} for ${rec.target.namespace}/${rec.target.name}`;

/** One sentence for newly appeared recommendations: the first three named, the rest counted. */
export function recommendationsMessage(added: readonly AnnouncedRecommendation[]): string {
  if (added.length === 1) return `New recommendation: ${describe(added[0]!)}.`;
  const named = added.slice(0, 3).map(describe).join("; ");
  const rest = added.length > 3 ? ` and ${added.length - 3} more` : "";
  return `${added.length} new recommendations: ${named}${rest}.`;
}

export function connectionMessage(status: LinkStatus, staleSince: string): string | null {
  if (status === "reconnecting") return `Connection to the cluster lost. Showing data as of ${staleSince}; reconnecting.`;
  if (status === "live") return "Connection restored: the data is live again.";
  return null;
}

export class Announcer {
  private known: Set<string> | null = null;
  private pending: AnnouncedRecommendation[] = [];
  /** The connection state last announced (or the first one seen, which is not announced). */
  private spokenStatus: LinkStatus | null = null;
  private pendingStatus: { status: LinkStatus; staleSince: string } | null = null;
  private lastSpokenAt = Number.NEGATIVE_INFINITY;
  private timer: unknown = null;

  constructor(
    private readonly say: (text: string) => void,
    private readonly minGapMs = 5000,
    private readonly clock: Timer = realTimer,
  ) {}

  /** The current list of open recommendations; the first call is the baseline and says nothing. */
  recommendations(recs: readonly AnnouncedRecommendation[]): void {
    const keys = new Set(recs.map(recommendationKey));
    if (this.known !== null) {
      const known = this.known;
      const queued = new Set(this.pending.map(recommendationKey));
      this.pending.push(...recs.filter((r) => !known.has(recommendationKey(r)) && !queued.has(recommendationKey(r))));
      // One that appeared and went again before it was announced is not news any more.
      this.pending = this.pending.filter((r) => keys.has(recommendationKey(r)));
    }
    this.known = keys;
    this.schedule();
  }

  /** The connection state; only a drop after live, and the return to live after a drop, are announced. */
  connection(status: LinkStatus, staleSince: string): void {
    if (this.spokenStatus === null) {
      if (status === "live") this.spokenStatus = "live";
      return;
    }
    if (status === "connecting") return;
    this.pendingStatus = status === this.spokenStatus ? null : { status, staleSince };
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer !== null || (this.pending.length === 0 && this.pendingStatus === null)) return;
    const wait = Math.max(0, this.lastSpokenAt + this.minGapMs - this.clock.now());
    if (wait === 0) {
      this.flush();
      return;
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const parts: string[] = [];
    if (this.pendingStatus) {
      const text = connectionMessage(this.pendingStatus.status, this.pendingStatus.staleSince);
      if (text) parts.push(text);
      this.spokenStatus = this.pendingStatus.status;
      this.pendingStatus = null;
    }
    if (this.pending.length > 0) parts.push(recommendationsMessage(this.pending));
    this.pending = [];
    if (parts.length === 0) return;
    this.lastSpokenAt = this.clock.now();
    this.say(parts.join(" "));
  }
}
