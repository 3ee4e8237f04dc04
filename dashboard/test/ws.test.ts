import { beforeEach, describe, expect, it } from "vitest";

import { wsProtocols } from "../src/api";
import type { ServerMessage } from "../src/types";
import { type ConnectionState, type SocketLike, type Timers, WsClient, backoffMs } from "../src/ws";

class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  sent: unknown[] = [];
  closed = false;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    this.onclose?.({});
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: unknown): void {
    this.onmessage?.({ data: typeof message === "string" ? message : JSON.stringify(message) });
  }
}

class FakeTimers implements Timers {
  nowMs = 1_000_000;
  private queue: { at: number; callback: () => void; id: number }[] = [];
  private next = 0;
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.queue.push({ at: this.nowMs + ms, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter((t) => t.id !== handle);
  }
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const first = this.queue[0];
      if (!first || first.at > until) break;
      this.queue.shift();
      this.nowMs = first.at;
      first.callback();
    }
    this.nowMs = until;
  }
  pending(): number[] {
    return this.queue.map((t) => t.at - this.nowMs).sort((a, b) => a - b);
  }
}

const snapshot = (seq: number): ServerMessage => ({ type: "snapshot", epoch: "e1", seq, reason: "subscribe", topics: ["services"], namespace: null, data: { services: [] } });

describe("backoffMs", () => {
  it("doubles from the initial delay, caps at the maximum and applies jitter in [0.5, 1)", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 500, 10_000, () => 0.999999))).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
    expect(backoffMs(3, 500, 10_000, () => 0)).toBe(2000);
  });
});

describe("WsClient", () => {
  let sockets: FakeSocket[];
  let timers: FakeTimers;
  let messages: ServerMessage[];
  let states: ConnectionState[];
  let client: WsClient;

  beforeEach(() => {
    sockets = [];
    timers = new FakeTimers();
    messages = [];
    states = [];
    client = new WsClient({
      url: "ws://dash/ws",
      topics: ["services", "pods"],
      onMessage: (m) => messages.push(m),
      onState: (s) => states.push(s),
      createSocket: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      timers,
      random: () => 0.999999,
      initialBackoffMs: 500,
      maxBackoffMs: 4000,
      silenceTimeoutMs: 45_000,
    });
  });

  it("subscribes on open without since, then goes live on the snapshot", () => {
    client.start();
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.url).toBe("ws://dash/ws");
    sockets[0]!.open();
    expect(sockets[0]!.sent).toEqual([{ op: "subscribe", topics: ["services", "pods"] }, { op: "ping" }]);
    expect(client.connection.status).toBe("connecting");
    sockets[0]!.receive(snapshot(41));
    expect(client.connection).toEqual({ status: "live", staleSinceMs: null, attempt: 0, nextRetryMs: null });
    expect(messages).toHaveLength(1);
    expect(client.lastSeq).toBe(41);
  });

  it("reconnects with backoff after a drop and resumes with since = last seq", () => {
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(snapshot(41));
    sockets[0]!.receive({ type: "delta", epoch: "e1", seq: 42, topic: "pods", change: "added", kind: "Pod", namespace: "a", name: "b", object: {} });
    timers.nowMs = 2_000_000;
    sockets[0]!.close();
    expect(client.connection).toEqual({ status: "reconnecting", staleSinceMs: 2_000_000, attempt: 1, nextRetryMs: 500 });
    timers.advance(499);
    expect(sockets).toHaveLength(1);
    timers.advance(1);
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(sockets[1]!.sent).toEqual([{ op: "subscribe", topics: ["services", "pods"], since: 42, epoch: "e1" }, { op: "ping" }]);
    sockets[1]!.receive({ type: "delta", epoch: "e1", seq: 43, topic: "pods", change: "deleted", kind: "Pod", namespace: "a", name: "b", object: null });
    expect(client.connection.status).toBe("live");
    expect(client.lastSeq).toBe(43);
  });

  it("backs off exponentially up to the cap while the backend stays down, keeping the stale-since time", () => {
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(snapshot(1));
    timers.nowMs = 5_000_000;
    sockets[0]!.close();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      delays.push(client.connection.nextRetryMs!);
      timers.advance(client.connection.nextRetryMs!);
      sockets.at(-1)!.close(); // the handshake fails (502 from nginx)
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(client.connection.staleSinceMs).toBe(5_000_000);
    expect(client.connection.status).toBe("reconnecting");
  });

  it("goes live on the pong when a resume had nothing to replay", () => {
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(snapshot(7));
    sockets[0]!.close();
    timers.advance(500);
    sockets[1]!.open();
    sockets[1]!.receive({ type: "heartbeat", epoch: "e1", seq: 7, at: "x" });
    expect(client.connection.status).toBe("reconnecting");
    sockets[1]!.receive({ type: "pong", epoch: "e1", seq: 7 });
    expect(client.connection.status).toBe("live");
    expect(client.connection.staleSinceMs).toBeNull();
  });

  it("treats a silent socket as dead and reconnects", () => {
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(snapshot(5));
    timers.advance(44_999);
    expect(client.connection.status).toBe("live");
    timers.advance(1);
    expect(sockets[0]!.closed).toBe(true);
    expect(client.connection.status).toBe("reconnecting");
    timers.advance(500);
    expect(sockets).toHaveLength(2);
  });

  it("heartbeats keep the socket alive without changing state", () => {
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(snapshot(5));
    for (let i = 0; i < 5; i += 1) {
      timers.advance(15_000);
      sockets[0]!.receive({ type: "heartbeat", epoch: "e1", seq: 5, at: "x" });
    }
    expect(sockets).toHaveLength(1);
    expect(client.connection.status).toBe("live");
  });

  it("drops frames that are not JSON without disconnecting", () => {
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive("not json{");
    sockets[0]!.receive(snapshot(3));
    expect(messages).toHaveLength(1);
    expect(sockets[0]!.closed).toBe(false);
  });

  it("stop() closes the socket and never reconnects", () => {
    client.start();
    sockets[0]!.open();
    client.stop();
    expect(sockets[0]!.closed).toBe(true);
    timers.advance(60_000);
    expect(sockets).toHaveLength(1);
    expect(client.send({ op: "ping" })).toBe(false);
  });

  it("reads the subprotocols at each connect (a token entered later is used on the next attempt, never in the URL)", () => {
    let token: string | null = null;
    const offered: [string, string[]][] = [];
    const dynamic = new WsClient({
      url: () => "ws://x/ws",
      protocols: () => wsProtocols(token),
      topics: ["services"],
      onMessage: () => undefined,
      createSocket: (url, protocols) => {
        offered.push([url, protocols]);
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      timers,
      random: () => 0.999999,
    });
    dynamic.start();
    sockets.at(-1)!.close();
    token = "s3cret/tøken";
    timers.advance(500);
    expect(offered).toEqual([
      ["ws://x/ws", ["k8s-optimizer.v1"]],
      // base64url of the UTF-8 bytes, no padding: what the backend (and kube-apiserver) decode
      ["ws://x/ws", ["k8s-optimizer.v1", "base64url.bearer.authorization.k8s.io.czNjcmV0L3TDuGtlbg"]],
    ]);
    dynamic.stop();
  });

  it("resumes only within the epoch it saw, and follows a new epoch after a restart", () => {
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(snapshot(1917));
    sockets[0]!.close();
    timers.advance(500);
    sockets[1]!.open();
    expect(sockets[1]!.sent[0]).toEqual({ op: "subscribe", topics: ["services", "pods"], since: 1917, epoch: "e1" });
    // The restarted backend answers with a snapshot of its own epoch and numbering.
    sockets[1]!.receive({ ...snapshot(3), epoch: "e2", reason: "epoch-changed" } as ServerMessage);
    expect([client.lastSeq, client.epoch]).toEqual([3, "e2"]);
    sockets[1]!.close();
    timers.advance(500);
    sockets[2]!.open();
    expect(sockets[2]!.sent[0]).toEqual({ op: "subscribe", topics: ["services", "pods"], since: 3, epoch: "e2" });
  });

  it("retries when the socket constructor throws", () => {
    let calls = 0;
    const failing = new WsClient({
      url: "ws://x/ws",
      topics: ["services"],
      onMessage: () => undefined,
      createSocket: () => {
        calls += 1;
        throw new Error("SecurityError");
      },
      timers,
      random: () => 0.999999,
    });
    failing.start();
    expect(failing.connection.status).toBe("reconnecting");
    timers.advance(500);
    expect(calls).toBe(2);
    failing.stop();
  });
});
