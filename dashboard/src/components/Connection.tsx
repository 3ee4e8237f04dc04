// The connection indicator: live, reconnecting (with the time the data went stale), or connecting.

import type { JSX } from "preact";
import { useContext } from "preact/hooks";

import { clock } from "../format";
import { ConnectionContext } from "../hooks";

export function ConnectionIndicator(): JSX.Element {
  const state = useContext(ConnectionContext);
  const text =
    state.status === "live"
      ? "Live"
      : state.status === "reconnecting"
        ? `Reconnecting · stale since ${clock(state.staleSinceMs)}`
        : "Connecting…";
  return (
    <div class={`conn conn-${state.status}`} data-testid="connection-state" data-state={state.status} role="status" aria-live="polite">
      <span class="conn-dot" aria-hidden="true" />
      {text}
    </div>
  );
}
