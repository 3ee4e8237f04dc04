// Where keyboard focus goes when the route changes. A single-page app keeps focus on the link that was
// followed, which the new view has just removed: the next Tab would start from the top of the page. So a
// followed link moves focus to the new view's content, and the back/forward buttons return it to the
// link that was followed from that page (found again once the view has re-rendered it).

/** The link followed from each page (pathname → href), for the way back. */
export class FocusMemory {
  private readonly followed = new Map<string, string>();

  constructor(private readonly limit = 50) {}

  remember(fromPath: string, href: string): void {
    this.followed.delete(fromPath);
    this.followed.set(fromPath, href);
    // Oldest first: a long session forgets its earliest pages instead of growing without bound.
    while (this.followed.size > this.limit) this.followed.delete(this.followed.keys().next().value as string);
  }

  recall(path: string): string | null {
    return this.followed.get(path) ?? null;
  }
}

export type NavigationCause = "initial" | "link" | "history";

export interface FocusPlan {
  /** Focus the main region now. */
  main: boolean;
  /** Then look for a link with this href inside it (null: none). */
  link: string | null;
}

/**
 * What to do with focus after a route change. The first render leaves focus alone (a page load starts at
 * the top, where the skip link is); a followed link moves it to the content; the history buttons return it
 * to the link followed from that page, with the content as the fallback while the view is still loading.
 */
export function focusPlan(cause: NavigationCause, path: string, memory: FocusMemory): FocusPlan {
  if (cause === "initial") return { main: false, link: null };
  if (cause === "link") return { main: true, link: null };
  return { main: true, link: memory.recall(path) };
}

export const focusMemory = new FocusMemory();

/** Where the element is a link to `href` inside `root`, focus it; retries while a view renders (≤ timeoutMs). */
export function focusLinkWhenShown(root: HTMLElement, href: string, timeoutMs = 3000): () => void {
  const deadline = Date.now() + timeoutMs;
  let handle: ReturnType<typeof setTimeout> | null = null;
  const attempt = () => {
    const link = [...root.querySelectorAll<HTMLAnchorElement>("a[href]")].find((a) => a.getAttribute("href") === href);
    if (link) {
      link.focus();
      return;
    }
    if (Date.now() < deadline) handle = setTimeout(attempt, 50);
  };
  attempt();
  return () => {
    if (handle !== null) clearTimeout(handle);
  };
}

/**
 * The tab a key moves to in a tab list (WAI-ARIA tabs: the arrows move and wrap, Home and End jump to the
 * ends); null for any other key. Only the selected tab is a Tab stop, so the arrows are how to reach the rest.
 */
export function rovingIndex(key: string, current: number, count: number): number | null {
  if (count <= 0) return null;
  switch (key) {
    case "ArrowRight":
    case "ArrowDown":
      return (current + 1) % count;
    case "ArrowLeft":
    case "ArrowUp":
      return (current - 1 + count) % count;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}
