// The connection indicator: live, reconnecting (with the time the data went stale), or connecting. When the
// socket keeps failing it offers the token form: a backend with apply enabled refuses token-less sockets.

import type { JSX } from "preact";
import { useContext, useState } from "preact/hooks";

import { getToken } from "../api";
import { clock } from "../format";
import { ConnectionContext } from "../hooks";
import { TokenForm } from "./Token";

export function ConnectionIndicator(): JSX.Element {
  const state = useContext(ConnectionContext);
  const [askToken, setAskToken] = useState(false);
  const text =
    state.status === "live"
      ? "Live"
      : state.status === "reconnecting"
        ? `Reconnecting · stale since ${clock(state.staleSinceMs)}`
        : "Connecting…";
  const offerToken = state.status !== "live" && state.attempt >= 3 && !getToken();
  return (
    <div class="conn-wrap">
      <div class={`conn conn-${state.status}`} data-testid="connection-state" data-state={state.status} role="status" aria-live="polite">
        <span class="conn-dot" aria-hidden="true" />
        {text}
      </div>
      {offerToken && !askToken && (
        <button type="button" class="btn btn-ghost btn-small" onClick={() => setAskToken(true)} title="A backend with apply enabled only accepts sockets that carry its token">
          Token…
        </button>
      )}
      {askToken && (
        <div class="popover">
          <TokenForm purpose="for the live stream" onDone={() => setAskToken(false)} />
        </div>
      )}
    </div>
  );
}
