// The bearer-token form: mutating endpoints (and, when a token is configured, the WebSocket) need
// OPTIMIZER_APPLY_TOKEN. The token is kept in sessionStorage only (gone when the tab closes).

import type { JSX } from "preact";
import { useState } from "preact/hooks";

import { setToken } from "../api";

export function TokenForm(props: { purpose: string; onDone: (token: string | null) => void }): JSX.Element {
  const [value, setValue] = useState("");
  const submit = (event: Event) => {
    event.preventDefault();
    const token = value.trim();
    if (!token) return;
    setToken(token);
    props.onDone(token);
  };
  return (
    <form class="token-form" onSubmit={submit} onKeyDown={(e) => e.key === "Escape" && props.onDone(null)} data-testid="token-form">
      <label>
        <span class="muted">Bearer token {props.purpose}</span>
        <input type="password" autoComplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} aria-label="Apply token" autoFocus />
      </label>
      <button type="submit" class="btn btn-primary btn-small">
        Use token
      </button>
      <button type="button" class="btn btn-ghost btn-small" onClick={() => props.onDone(null)}>
        Cancel
      </button>
    </form>
  );
}
