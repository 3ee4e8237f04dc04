// Entry point: one store, one WebSocket client feeding it, and the app shell.

import { render } from "preact";

import { App } from "./App";
import { wsProtocols, wsUrl } from "./api";
import { Store } from "./store";
import "./styles.css";
import { WsClient } from "./ws";

const store = new Store();
const root = document.getElementById("app");
let renderConnection: ((state: WsClient["connection"]) => void) | null = null;

const client = new WsClient({
  url: () => wsUrl(),
  protocols: () => wsProtocols(),
  topics: ["services", "pods", "nodes", "hpa", "metrics", "recommendations", "anomalies"],
  onMessage: (message) => store.apply(message),
  onState: (state) => renderConnection?.(state),
});

if (root) {
  renderConnection = (state) => render(<App store={store} connection={state} />, root);
  renderConnection(client.connection);
  client.start();
}
