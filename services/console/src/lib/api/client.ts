// The REST client: typed by src/api/schema.d.ts (generated from the API's OpenAPI). It sends the session
// cookie, the CSRF token on mutations and an Idempotency-Key on every mutating request (docs/api.md), and
// turns every failure into an ApiError carrying the API's own message.
import createClient from "openapi-fetch";
import type { Middleware } from "openapi-fetch";
import type { paths } from "../../api/schema";
import { ApiError, toApiError } from "./errors";

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
let csrfToken: string | null = null;
let onUnauthenticated: () => void = () => undefined;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function setApiUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

/** A fresh key per user action; crypto.randomUUID exists only in secure contexts, hence the fallback. */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function decorate(method: string, headers: Headers): void {
  if (!MUTATING.has(method.toUpperCase())) return;
  if (csrfToken && !headers.has("X-CSRF-Token")) headers.set("X-CSRF-Token", csrfToken);
  if (!headers.has("Idempotency-Key")) headers.set("Idempotency-Key", newIdempotencyKey());
}

const mutationHeaders: Middleware = {
  onRequest({ request }) {
    decorate(request.method, request.headers);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(mutationHeaders);

function noticeUnauthenticated(err: ApiError, path: string): void {
  if (err.status === 401 && !path.includes("/auth/")) onUnauthenticated();
}

/** Awaits an openapi-fetch call and returns its data, or throws the API's error. */
export async function call<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await p;
  } catch {
    throw toApiError(undefined, undefined);
  }
  if (!r.response.ok) {
    const err = toApiError(r.response, r.error);
    noticeUnauthenticated(err, new URL(r.response.url || "/", window.location.href).pathname);
    throw err;
  }
  return r.data as T;
}

/** For routes the generated types do not describe (streams, downloads): same headers, same errors. */
export async function rawFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const method = init.method ?? "GET";
  decorate(method, headers);
  if (init.body && typeof init.body === "string" && !headers.has("Content-Type")) {
    headers.set("Content-Type", "application/json");
  }
  let response: Response;
  try {
    response = await fetch(path, { ...init, method, headers, credentials: "same-origin" });
  } catch {
    throw toApiError(undefined, undefined);
  }
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => undefined);
    const err = toApiError(response, body);
    noticeUnauthenticated(err, path);
    throw err;
  }
  return response;
}

/** rawFetch for a JSON answer (204 gives undefined). */
export async function rawJson<T>(path: string, method = "GET", body?: unknown): Promise<T> {
  const r = await rawFetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return undefined as T;
  return (await r.json()) as T;
}
