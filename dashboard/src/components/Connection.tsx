// The connection indicator: live, reconnecting (with the time the data went stale), or connecting. When the
// socket fails and the backend's capabilities say it needs a token (a backend with apply enabled refuses
// token-less sockets), it offers the token form; without capabilities, after a few failed attempts. The
// indicator is not itself a live region: LiveAnnouncer says when the connection drops and comes back, once.

import type { JSX } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";

import { getToken } from "../api";
import { shouldOfferToken, useCapabilities } from "../capabilities";
import { clock } from "../format";
import { ConnectionContext } from "../hooks";
import { TokenForm } from "./Token";

export function ConnectionIndicator(): JSX.Element {
  const state = useContext(ConnectionContext);
  const [askToken, setAskToken] = useState(false);
  const capabilities = useCapabilities();
  const text = state.status === "live" ? "Live" : state.status === "reconnecting" ? "Reconnecting" : "Connecting…";
  // On a phone the detail folds away: the banner above the view says the same in full.
  const detail = state.status === "reconnecting" ? `· stale since ${clock(state.staleSinceMs)}` : "";
  const offerToken = shouldOfferToken(state, capabilities.data, getToken() !== null);
  // Closing the form (Cancel, Escape) puts focus back on the button that opened it, where it was.
  const tokenButton = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (askToken || !refocus.current) return;
    refocus.current = false;
    tokenButton.current?.focus();
  }, [askToken]);
  return (
    <div class="conn-wrap">
      <div class={`conn conn-${state.status}`} data-testid="connection-state" data-state={state.status}>
        <span class="conn-dot" aria-hidden="true" />
        {text}
        {detail && <span class="conn-detail">{detail}</span>}
      </div>
      {offerToken && !askToken && (
        <button type="button" ref={tokenButton} class="btn btn-ghost btn-small" onClick={() => setAskToken(true)} title="A backend with apply enabled only accepts sockets that carry its token">
          Token…
        </button>
      )}
      {askToken && (
        <div class="popover">
          <TokenForm
            purpose="for the live stream"
            onDone={() => {
              refocus.current = true;
              setAskToken(false);
            }}
          />
        </div>
      )}
    </div>
  );
}
