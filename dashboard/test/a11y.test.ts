import { describe, expect, it } from "vitest";

import { type AnnouncedRecommendation, Announcer, type Timer, connectionMessage, recommendationKey, recommendationsMessage } from "../src/announce";
import { cssVarName } from "../src/components/Chart";
import { FocusMemory, focusPlan, rovingIndex } from "../src/focus";

/** A clock the test moves by hand; timers fire when it passes them. */
class FakeTimer implements Timer {
  at = 1_000_000;
  private timers: { due: number; callback: () => void; id: number }[] = [];
  private nextId = 1;

  now(): number {
    return this.at;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ due: this.at + ms, callback, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  advance(ms: number): void {
    this.at += ms;
    for (const timer of [...this.timers].sort((a, b) => a.due - b.due)) {
      if (timer.due > this.at) continue;
      this.timers = this.timers.filter((t) => t.id !== timer.id);
      timer.callback();
    }
  }

  get pending(): number {
    return this.timers.length;
  }
}

const rec = (name: string, kind = "right-size", container: string | null = "app"): AnnouncedRecommendation => ({
  kind,
  target: { kind: "Deployment", namespace: "shop", name },
  container,
});

function setup(gapMs = 5000): { said: string[]; timer: FakeTimer; announcer: Announcer } {
  const said: string[] = [];
  const timer = new FakeTimer();
  return { said, timer, announcer: new Announcer((text) => said.push(text), gapMs, timer) };
}

describe("recommendation announcements", () => {
  it("says nothing for the first list (the baseline), then names a new recommendation at once", () => {
    const { said, announcer } = setup();
    announcer.recommendations([rec("api"), rec("web")]);
    expect(said).toEqual([]);
    announcer.recommendations([rec("api"), rec("web"), rec("cart", "hpa", null)]);
    expect(said).toEqual(["New recommendation: hpa for shop/cart."]);
  });

  it("does not announce re-analysed recommendations (same kind, object and container, new id)", () => {
    const { said, announcer } = setup();
    announcer.recommendations([rec("api")]);
    for (let i = 0; i < 20; i++) announcer.recommendations([{ ...rec("api"), id: `id-${i}` } as AnnouncedRecommendation]);
    expect(said).toEqual([]);
  });

  it("coalesces a burst into one sentence after the gap, naming three and counting the rest", () => {
    const { said, timer, announcer } = setup(5000);
    announcer.recommendations([]);
    announcer.recommendations([rec("a")]);
    expect(said).toEqual(["New recommendation: right-size for shop/a."]);
    timer.advance(1000);
    announcer.recommendations([rec("a"), rec("b")]);
    timer.advance(1000);
    announcer.recommendations([rec("a"), rec("b"), rec("c"), rec("d"), rec("e")]);
    expect(said).toHaveLength(1);
    timer.advance(2999);
    expect(said).toHaveLength(1);
    timer.advance(1);
    expect(said).toEqual([
      "New recommendation: right-size for shop/a.",
      "4 new recommendations: right-size for shop/b; right-size for shop/c; right-size for shop/d and 1 more.",
    ]);
    expect(timer.pending).toBe(0);
  });

  it("drops a recommendation that went away again before it was announced", () => {
    const { said, timer, announcer } = setup(5000);
    announcer.recommendations([]);
    announcer.recommendations([rec("a")]);
    announcer.recommendations([rec("a"), rec("flap")]);
    announcer.recommendations([rec("a")]);
    timer.advance(10_000);
    expect(said).toEqual(["New recommendation: right-size for shop/a."]);
  });

  it("keys on kind, object and container", () => {
    expect(recommendationKey(rec("api"))).toBe("right-size:Deployment/shop/api:app");
    expect(recommendationKey(rec("api", "hpa", null))).toBe("hpa:Deployment/shop/api:");
    expect(recommendationsMessage([rec("a"), rec("b")])).toBe("2 new recommendations: right-size for shop/a; right-size for shop/b.");
  });
});

describe("connection announcements", () => {
  it("says nothing while first connecting, then announces a drop and the return to live", () => {
    const { said, timer, announcer } = setup(5000);
    announcer.connection("connecting", "—");
    announcer.connection("live", "—");
    expect(said).toEqual([]);
    announcer.connection("reconnecting", "12:00:05");
    expect(said).toEqual(["Connection to the cluster lost. Showing data as of 12:00:05; reconnecting."]);
    timer.advance(6000);
    announcer.connection("live", "—");
    expect(said).toEqual([
      "Connection to the cluster lost. Showing data as of 12:00:05; reconnecting.",
      "Connection restored: the data is live again.",
    ]);
  });

  it("stays quiet when the connection flaps back to what was last said within the gap", () => {
    const { said, timer, announcer } = setup(5000);
    announcer.connection("live", "—");
    announcer.connection("reconnecting", "12:00:05");
    timer.advance(1000);
    announcer.connection("live", "—");
    timer.advance(1000);
    announcer.connection("reconnecting", "12:00:07");
    timer.advance(10_000);
    expect(said).toEqual(["Connection to the cluster lost. Showing data as of 12:00:05; reconnecting."]);
  });

  it("puts a drop and new recommendations due at the same time into one announcement", () => {
    const { said, timer, announcer } = setup(5000);
    announcer.connection("live", "—");
    announcer.recommendations([]);
    announcer.recommendations([rec("a")]);
    timer.advance(100);
    announcer.recommendations([rec("a"), rec("b")]);
    announcer.connection("reconnecting", "09:30:00");
    timer.advance(4900);
    expect(said).toEqual([
      "New recommendation: right-size for shop/a.",
      "Connection to the cluster lost. Showing data as of 09:30:00; reconnecting. New recommendation: right-size for shop/b.",
    ]);
  });

  it("stop() cancels what is pending", () => {
    const { said, timer, announcer } = setup(5000);
    announcer.recommendations([]);
    announcer.recommendations([rec("a")]);
    announcer.recommendations([rec("a"), rec("b")]);
    announcer.stop();
    timer.advance(10_000);
    expect(said).toEqual(["New recommendation: right-size for shop/a."]);
    expect(connectionMessage("connecting", "—")).toBeNull();
  });
});

describe("focus after navigation", () => {
  it("leaves the first render alone, moves a followed link to the content, returns history to the followed link", () => {
    const memory = new FocusMemory();
    memory.remember("/services", "/services/shop/api");
    expect(focusPlan("initial", "/services", memory)).toEqual({ main: false, link: null });
    expect(focusPlan("link", "/services", memory)).toEqual({ main: true, link: null });
    expect(focusPlan("history", "/services", memory)).toEqual({ main: true, link: "/services/shop/api" });
    expect(focusPlan("history", "/network", memory)).toEqual({ main: true, link: null });
  });

  it("remembers the latest link per page and forgets the oldest pages beyond its limit", () => {
    const memory = new FocusMemory(2);
    memory.remember("/a", "/x");
    memory.remember("/a", "/y");
    memory.remember("/b", "/z");
    expect(memory.recall("/a")).toBe("/y");
    memory.remember("/c", "/w");
    expect(memory.recall("/a")).toBeNull();
    expect(memory.recall("/b")).toBe("/z");
    expect(memory.recall("/c")).toBe("/w");
  });
});

describe("chart colours from the theme", () => {
  it("names the custom property of a var() colour and leaves plain colours alone", () => {
    expect(cssVarName("var(--series-3)")).toBe("--series-3");
    expect(cssVarName(" var(--good) ")).toBe("--good");
    expect(cssVarName("#3b82f6")).toBeNull();
    expect(cssVarName("var(--a, #fff)")).toBeNull();
  });
});

describe("tab lists", () => {
  it("moves with the arrows (wrapping) and jumps with Home/End; other keys do nothing", () => {
    expect([rovingIndex("ArrowRight", 0, 3), rovingIndex("ArrowRight", 2, 3), rovingIndex("ArrowDown", 1, 3)]).toEqual([1, 0, 2]);
    expect([rovingIndex("ArrowLeft", 0, 3), rovingIndex("ArrowLeft", 2, 3), rovingIndex("ArrowUp", 1, 3)]).toEqual([2, 1, 0]);
    expect([rovingIndex("Home", 2, 3), rovingIndex("End", 0, 3)]).toEqual([0, 2]);
    expect([rovingIndex("Tab", 1, 3), rovingIndex("a", 1, 3), rovingIndex("ArrowRight", 0, 0)]).toEqual([null, null, null]);
  });
});
