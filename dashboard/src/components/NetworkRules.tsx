// The evidence a user cannot see without a shell on the node: what kube-proxy programs for this Service
// (iptables-save lines, the nft table or the IPVS virtual servers, copyable) and whether NetworkPolicies
// let a given pod reach it, with the policy that decides. Both come from the backend, computed from the
// API objects (docs/network.md).

import type { JSX } from "preact";
import { useState } from "preact/hooks";

import { useFetch } from "../hooks";
import type { ReachabilityOut, RulesOut } from "../types";
import { Badge, CodeBlock, ErrorBox, Loading, Section } from "./common";

const MODES = ["iptables", "nftables", "ipvs"] as const;
type Mode = (typeof MODES)[number];

function servicePath(namespace: string, name: string): string {
  return `/api/v1/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

export function RulesSection(props: { namespace: string; name: string; revision: unknown }): JSX.Element {
  const [mode, setMode] = useState<Mode | null>(null);
  const query = mode ? `?mode=${mode}` : "";
  const fetched = useFetch<RulesOut>(`${servicePath(props.namespace, props.name)}/rules${query}`, props.revision);
  const rules = fetched.data;
  const actions = (
    <label class="inline-field">
      <span>Mode</span>
      <select
        value={mode ?? rules?.mode ?? "iptables"}
        onChange={(event) => setMode((event.currentTarget as HTMLSelectElement).value as Mode)}
        data-testid="rules-mode"
      >
        {MODES.map((m) => (
          <option key={m} value={m}>
            {m}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Section title="kube-proxy rules" testid="rules-section" actions={actions}>
      {fetched.error && <ErrorBox error={fetched.error} />}
      {!rules && !fetched.error && <Loading what="rules" />}
      {rules && (
        <div>
          <p class="muted" data-testid="rules-node">
            On node {rules.node}, {rules.mode} mode ({rules.mode_source}).
          </p>
          {rules.endpoint_rules.length > 0 && (
            <ul class="rule-links" aria-label="DNAT rule per endpoint">
              {rules.endpoint_rules.map((rule) => (
                <li key={rule.chain + rule.endpoint} data-testid="rules-endpoint">
                  <code>{rule.endpoint}</code> ← <code>{rule.chain}</code>
                </li>
              ))}
            </ul>
          )}
          <CodeBlock code={rules.text} label={`${rules.mode} rules for ${props.name}`} testid="rules-text" />
          {rules.listing && (
            <CodeBlock code={rules.listing} label="iptables -t nat -L <chain> -n --line-numbers" testid="rules-listing" />
          )}
        </div>
      )}
    </Section>
  );
}

export function ReachabilitySection(props: { namespace: string; name: string }): JSX.Element {
  const [source, setSource] = useState("");
  const [asked, setAsked] = useState<string | null>(null);
  const path = asked ? `${servicePath(props.namespace, props.name)}/reachability?from=${encodeURIComponent(asked)}` : null;
  const fetched = useFetch<ReachabilityOut>(path);
  const onSubmit = (event: Event) => {
    event.preventDefault();
    setAsked(source.trim() || null);
  };
  return (
    <Section title="NetworkPolicy reachability" testid="reachability-section">
      <form class="inline-form" onSubmit={onSubmit}>
        <label class="inline-field">
          <span>From pod (namespace/pod)</span>
          <input
            value={source}
            onInput={(event) => setSource((event.currentTarget as HTMLInputElement).value)}
            placeholder={`${props.namespace}/load-gen`}
            data-testid="reachability-from"
          />
        </label>
        <button type="submit" class="btn btn-small">
          Check
        </button>
      </form>
      {fetched.error && <ErrorBox error={fetched.error} />}
      {fetched.data && (
        <ul class="edges" aria-live="polite">
          {fetched.data.ports.map((port) => (
            <li key={port.service_port} data-testid="reachability-edge" data-verdict={port.verdict}>
              <Badge tone={port.verdict === "allowed" ? "good" : port.verdict === "denied" ? "bad" : "warn"}>
                {port.verdict}
              </Badge>{" "}
              {fetched.data?.source} → {props.name}:{port.service_port}/{port.protocol}
              {port.endpoints
                .filter((e) => !e.allowed)
                .slice(0, 1)
                .map((e) => (
                  <div class="muted" key={e.pod} data-testid="reachability-reason">
                    {e.reason}
                  </div>
                ))}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
