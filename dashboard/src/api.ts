// REST calls for detail pages and actions (the live lists come from the WebSocket). Errors surface as
// ApiError with the server's problem `detail`, so views can show what went wrong instead of a blank page.

const TOKEN_KEY = "k8s-optimizer.apply-token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives only for this action
  }
}

async function request<T>(method: string, path: string, token?: string | null, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, signal });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "the backend is unreachable");
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = (body as { detail?: unknown } | null)?.detail;
    throw new ApiError(response.status, typeof detail === "string" ? detail : `${response.status} ${response.statusText}`);
  }
  return body as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal): Promise<T> => request<T>("GET", path, getToken(), signal),
  post: <T>(path: string, token: string | null): Promise<T> => request<T>("POST", path, token),
};

export function wsUrl(loc: Location = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${loc.host}/ws`;
}

/** The WebSocket's protocol (always offered, so the server's answer is never empty). */
export const WS_PROTOCOL = "k8s-optimizer.v1";
const TOKEN_PROTOCOL_PREFIX = "base64url.bearer.authorization.k8s.io.";

/**
 * The subprotocols to offer: the token travels as one (browsers cannot set headers on a WebSocket, and a
 * URL ends up in access logs), base64url-encoded the way kube-apiserver takes bearer tokens from browsers.
 */
export function wsProtocols(token: string | null = getToken()): string[] {
  if (!token) return [WS_PROTOCOL];
  const bytes = new TextEncoder().encode(token);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const encoded = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return [WS_PROTOCOL, TOKEN_PROTOCOL_PREFIX + encoded];
}
