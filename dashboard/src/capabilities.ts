// What the backend allows, read from GET /api/v1/capabilities (no token needed, no mutating route touched):
// whether Apply/Dry-run/Roll back can work, why not, and whether the WebSocket needs the bearer token. The
// decisions are pure functions so they are unit-tested without a browser.

import { useContext } from "preact/hooks";

import { type Fetched, ConnectionContext, useFetch } from "./hooks";
import type { Capabilities } from "./types";
import type { ConnectionState } from "./ws";

export type ApplyMode = "unknown" | "enabled" | "disabled";

export interface ApplyAvailability {
  mode: ApplyMode;
  /** Shown next to disabled buttons: why apply is off, or why we do not know. */
  reason: string | null;
}

/** Apply buttons follow the backend's own answer; while it is unknown they stay disabled with the reason. */
export function applyAvailability(capabilities: Capabilities | null, error: string | null): ApplyAvailability {
  if (capabilities) {
    if (capabilities.apply_enabled) return { mode: "enabled", reason: null };
    return { mode: "disabled", reason: `Read-only backend: ${capabilities.apply_disabled_reason ?? "apply is disabled"}. Copy the command instead.` };
  }
  if (error) return { mode: "unknown", reason: `Cannot tell whether apply is allowed (${error}); retrying when the connection is live.` };
  return { mode: "unknown", reason: null };
}

/**
 * Offer the token form on the connection indicator: right after the first refused attempt when the backend
 * says its socket needs a token, after a few attempts when we could not ask it, never once a token is kept.
 */
export function shouldOfferToken(connection: ConnectionState, capabilities: Capabilities | null, hasToken: boolean): boolean {
  if (connection.status === "live" || hasToken) return false;
  if (capabilities) return capabilities.token_required && connection.attempt >= 1;
  return connection.attempt >= 3;
}

/** The backend's capabilities, fetched again whenever the connection state changes (a restarted backend). */
export function useCapabilities(): Fetched<Capabilities> {
  const connection = useContext(ConnectionContext);
  return useFetch<Capabilities>("/api/v1/capabilities", connection.status);
}
