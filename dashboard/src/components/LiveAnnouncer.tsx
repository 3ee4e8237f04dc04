// The page's one polite live region for WebSocket-driven news (see announce.ts for what is said and how
// often). It is always in the DOM, empty at first, because screen readers only announce changes to a live
// region that already existed.

import type { JSX } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";

import { Announcer } from "../announce";
import { clock } from "../format";
import { ConnectionContext, useLive } from "../hooks";

export function LiveAnnouncer(): JSX.Element {
  const live = useLive();
  const connection = useContext(ConnectionContext);
  const [text, setText] = useState("");
  const announcer = useRef<Announcer | null>(null);
  if (announcer.current === null) announcer.current = new Announcer((message) => setText(message));
  useEffect(() => () => announcer.current?.stop(), []);
  useEffect(() => {
    // Before the first snapshot the list is empty, not known: the baseline is the first synced list.
    if (live.synced) announcer.current?.recommendations(live.recommendations);
  }, [live.synced, live.recommendations]);
  useEffect(() => {
    announcer.current?.connection(connection.status, clock(connection.staleSinceMs));
  }, [connection.status]);
  return (
    <div class="sr-only" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
      {text}
    </div>
  );
}
