// Small shared pieces: links that use the router, copy buttons, and the loading/empty/error states every
// view uses so nothing ever renders blank.

import type { ComponentChildren, JSX } from "preact";
import { useState } from "preact/hooks";

import { focusMemory } from "../focus";
import { navigate } from "../router";

export function Link(props: { href: string; class?: string; children: ComponentChildren; testid?: string; current?: "page" }): JSX.Element {
  const onClick = (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    // The way back returns focus here (focus.ts).
    focusMemory.remember(window.location.pathname, props.href);
    navigate(props.href);
  };
  return (
    <a href={props.href} class={props.class} onClick={onClick} data-testid={props.testid} aria-current={props.current}>
      {props.children}
    </a>
  );
}

export function CopyButton(props: { text: string; label: string; testid?: string }): JSX.Element {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
    } catch {
      // Clipboard API unavailable (insecure origin): fall back to a selection the user can copy.
      const area = document.createElement("textarea");
      area.value = props.text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <>
      <button type="button" class="btn btn-small" onClick={copy} aria-label={`Copy ${props.label}`} data-testid={props.testid}>
        {copied ? "Copied" : "Copy"}
      </button>
      {/* The button's own name does not change ("Copy …"): a screen reader hears the result here. */}
      <span class="sr-only" role="status">
        {copied ? `${props.label} copied` : ""}
      </span>
    </>
  );
}

export function CodeBlock(props: { code: string; label: string; testid?: string }): JSX.Element {
  return (
    <div class="code">
      <div class="code-head">
        <span>{props.label}</span>
        <CopyButton text={props.code} label={props.label} />
      </div>
      <pre data-testid={props.testid} tabIndex={0} aria-label={props.label}>
        {props.code}
      </pre>
    </div>
  );
}

/** A unified diff with added/removed lines coloured. */
export function DiffBlock(props: { diff: string; label: string; testid?: string }): JSX.Element {
  const tone = (line: string) =>
    line.startsWith("+++") || line.startsWith("---") ? "diff-file" : line.startsWith("+") ? "diff-add" : line.startsWith("-") ? "diff-del" : line.startsWith("@@") ? "diff-hunk" : "";
  return (
    <div class="code">
      <div class="code-head">
        <span>{props.label}</span>
        <CopyButton text={props.diff} label={props.label} />
      </div>
      <pre data-testid={props.testid} tabIndex={0} aria-label={props.label}>
        {props.diff.split("\n").map((line, index) => (
          <span key={index} class={`diff-line ${tone(line)}`}>
            {line || " "}
          </span>
        ))}
      </pre>
    </div>
  );
}

export function Loading(props: { what: string }): JSX.Element {
  return (
    <div class="state state-loading" role="status" data-testid="loading">
      <span class="spinner" aria-hidden="true" /> Loading {props.what}…
    </div>
  );
}

export function Empty(props: { children: ComponentChildren; testid?: string }): JSX.Element {
  return (
    <div class="state state-empty" data-testid={props.testid ?? "empty"}>
      {props.children}
    </div>
  );
}

export function ErrorBox(props: { error: string; retry?: () => void }): JSX.Element {
  return (
    <div class="state state-error" role="alert" data-testid="error">
      <strong>Could not load:</strong> {props.error}
      {props.retry && (
        <button type="button" class="btn btn-small" onClick={props.retry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Badge(props: { tone: string; children: ComponentChildren; title?: string }): JSX.Element {
  return (
    <span class={`badge badge-${props.tone}`} title={props.title}>
      {props.children}
    </span>
  );
}

/** A horizontal bar: used vs requested vs allocatable on one scale. */
export function UsageBar(props: { used: number | null; requested: number | null; total: number; label: string }): JSX.Element {
  const part = (v: number | null) => (v === null || props.total <= 0 ? 0 : Math.min(100, (v / props.total) * 100));
  return (
    <div
      class="bar"
      role="img"
      aria-label={`${props.label}: used ${part(props.used).toFixed(0)}%, requested ${part(props.requested).toFixed(0)}% of allocatable`}
    >
      <div class="bar-requested" style={{ width: `${part(props.requested)}%` }} />
      <div class="bar-used" style={{ width: `${part(props.used)}%` }} />
    </div>
  );
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren; testid?: string }): JSX.Element {
  return (
    <section class="card" id={props.testid} data-testid={props.testid} aria-label={props.title}>
      <header class="card-head">
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export function gradeTone(letter: string | null | undefined): string {
  if (!letter) return "muted";
  if (letter.startsWith("A")) return "good";
  if (letter.startsWith("B")) return "ok";
  if (letter.startsWith("C")) return "warn";
  return "bad";
}

export const priorityTone = (priority: string): string =>
  priority === "high" ? "bad" : priority === "medium" ? "warn" : "muted";

/**
 * A box that scrolls sideways on its own when its content (a wide table) is wider than the screen, so the
 * page never does. It is a named, focusable region: keyboard users can scroll it with the arrow keys.
 */
export function ScrollBox(props: { label: string; children: ComponentChildren }): JSX.Element {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}
