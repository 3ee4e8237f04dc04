// The one WebSocket of the dashboard: subscribes to the live topics, reconnects with capped exponential
// backoff (with jitter, so many browsers do not reconnect in lockstep after a backend restart), and resumes
// with `since` = the last seq seen and the `epoch` it belongs to, so the server can replay what was missed
// instead of resending everything (a restarted backend or the other replica has another epoch and answers
// with a fresh snapshot). The token, if any, is offered as a subprotocol, never put in the URL.
// A silent socket (no heartbeat within the timeout) is treated as dead: proxies can hold half-open sockets.

import type { ServerMessage, Topic } from "./types";

export type ConnectionStatus = "connecting" | "live" | "reconnecting";

export interface ConnectionState {
  status: ConnectionStatus;
  /** When the data stopped being live (ms since epoch); null while live or before the first connection. */
  staleSinceMs: number | null;
  attempt: number;
  nextRetryMs: number | null;
}

/** The part of the browser WebSocket this client uses (a fake implements it in tests). */
export interface SocketLike {
  readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export interface WsClientOptions {
  /** The socket URL (never carries a secret). */
  url: string | (() => string);
  /** The subprotocols to offer, read at each (re)connect (they carry the token, which may change). */
  protocols?: () => string[];
  topics: Topic[];
  onMessage: (message: ServerMessage) => void;
  onState?: (state: ConnectionState) => void;
  createSocket?: (url: string, protocols: string[]) => SocketLike;
  timers?: Timers;
  random?: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** The server sends a heartbeat every 15 s when idle; three missed ones mean the socket is dead. */
  silenceTimeoutMs?: number;
}

const browserTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
  now: () => Date.now(),
};

/** Backoff before reconnect attempt `attempt` (0-based): initial × 2^attempt capped, times a jitter in [0.5, 1). */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, initialMs * 2 ** attempt);
  return Math.round(base * (0.5 + random() * 0.5));
}

export class WsClient {
  private socket: SocketLike | null = null;
  private retryHandle: unknown = null;
  private silenceHandle: unknown = null;
  private stopped = true;
  private state: ConnectionState = { status: "connecting", staleSinceMs: null, attempt: 0, nextRetryMs: null };
  /** The last seq received; sent as `since` when resubscribing. */
  lastSeq: number | null = null;
  /** The serving process's epoch of `lastSeq`; `since` means something only to that epoch. */
  epoch: string | null = null;

  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly silenceTimeoutMs: number;

  constructor(private readonly options: WsClientOptions) {
    this.timers = options.timers ?? browserTimers;
    this.random = options.random ?? Math.random;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.silenceTimeoutMs = options.silenceTimeoutMs ?? 45_000;
  }

  get connection(): ConnectionState {
    return this.state;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer("retryHandle");
    this.clearTimer("silenceHandle");
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, "client stopped");
    }
  }

  /** Send a client op (ping, subscribe...) if the socket is open; returns whether it was sent. */
  send(op: Record<string, unknown>): boolean {
    if (!this.socket || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(op));
    return true;
  }

  private connect(): void {
    const create =
      this.options.createSocket ?? ((url: string, protocols: string[]) => new WebSocket(url, protocols) as unknown as SocketLike);
    let socket: SocketLike;
    try {
      const url = typeof this.options.url === "function" ? this.options.url() : this.options.url;
      socket = create(url, this.options.protocols?.() ?? []);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.onOpen(socket);
    socket.onmessage = (event) => this.onMessage(socket, event.data);
    socket.onclose = () => this.onClose(socket);
    socket.onerror = () => socket.close();
  }

  private onOpen(socket: SocketLike): void {
    if (socket !== this.socket) return;
    const subscribe: Record<string, unknown> = { op: "subscribe", topics: this.options.topics };
    if (this.lastSeq !== null && this.epoch !== null) {
      subscribe.since = this.lastSeq;
      subscribe.epoch = this.epoch;
    }
    socket.send(JSON.stringify(subscribe));
    // A resume with nothing missed gets no reply at all; the pong (queued after the subscription is handled)
    // is what tells us the server is serving this socket.
    socket.send(JSON.stringify({ op: "ping" }));
    this.armSilenceTimer();
  }

  private onMessage(socket: SocketLike, data: unknown): void {
    if (socket !== this.socket || typeof data !== "string") return;
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return; // a broken frame is dropped; the next snapshot or delta repairs the state
    }
    if (typeof message.seq === "number") this.lastSeq = message.seq;
    if (typeof message.epoch === "string") this.epoch = message.epoch;
    this.armSilenceTimer();
    // Live once the server has answered the subscription: the state now reflects the cluster.
    if (this.state.status !== "live" && (message.type === "snapshot" || message.type === "delta" || message.type === "pong")) {
      this.setState({ status: "live", staleSinceMs: null, attempt: 0, nextRetryMs: null });
    }
    this.options.onMessage(message);
  }

  private onClose(socket: SocketLike): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimer("silenceHandle");
    if (!this.stopped) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const attempt = this.state.status === "live" ? 0 : this.state.attempt;
    const delay = backoffMs(attempt, this.initialBackoffMs, this.maxBackoffMs, this.random);
    const staleSinceMs = this.state.staleSinceMs ?? this.timers.now();
    this.setState({ status: "reconnecting", staleSinceMs, attempt: attempt + 1, nextRetryMs: delay });
    this.retryHandle = this.timers.setTimeout(() => {
      this.retryHandle = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private armSilenceTimer(): void {
    this.clearTimer("silenceHandle");
    this.silenceHandle = this.timers.setTimeout(() => {
      this.silenceHandle = null;
      const socket = this.socket;
      if (!socket) return;
      // Do not wait for a close handshake a dead peer will never answer.
      socket.onclose = null;
      socket.close(4000, "silent");
      this.onClose(socket);
    }, this.silenceTimeoutMs);
  }

  private clearTimer(name: "retryHandle" | "silenceHandle"): void {
    if (this[name] !== null) {
      this.timers.clearTimeout(this[name]);
      this[name] = null;
    }
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.options.onState?.(state);
  }
}
